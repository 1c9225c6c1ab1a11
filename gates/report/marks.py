"""The marks beside a verdict: emoji where the reader's renderer has an emoji font, inline SVG
where it may not.

GitHub and terminals render emoji; the HTML report is opened anywhere — a server's Chromium,
a locked-down desktop — and without an emoji font every ✅ is an empty box, so there a verdict
is a word beside a small SVG drawn with shapes and ASCII letters that any font has.
"""

from __future__ import annotations

from markupsafe import Markup

EMOJI = {
    "pass": "✅", "approve": "✅", "fail": "❌", "drop": "❌", "undefined": "❌", "block": "❌",
    "inconclusive": "❔", "skipped": "➖", "untested": "➖", "first-model": "🆕", "overridden": "⚠️",
    "warning": "⚠️", "info": "ℹ️", "sealed": "🔒", "unlocked": "🔓",
}

GREEN, RED, AMBER, GREY, BLUE = "#1a7f37", "#cf222e", "#9a6700", "#6e7781", "#0969da"
_STROKE = 'fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"'
_CIRCLE = '<circle cx="8" cy="8" r="8" fill="{}"/>'
_LETTER = ('<text x="8" y="12.2" text-anchor="middle" font-family="DejaVu Sans,Arial,sans-serif" '
           'font-size="11.5" font-weight="bold" fill="#fff">{}</text>')
_CHECK = _CIRCLE.format(GREEN) + f'<path d="M4.4 8.4l2.4 2.4 4.8-5" {_STROKE}/>'
_CROSS = _CIRCLE.format(RED) + f'<path d="M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6" {_STROKE}/>'
_DASH = _CIRCLE.format(GREY) + f'<path d="M4.5 8h7" {_STROKE}/>'
_TRIANGLE = ('<path d="M8 1L15.5 14.5H0.5Z" fill="{}" stroke="{}" stroke-linejoin="round"/>'.format(AMBER, AMBER)
             + '<text x="8" y="13.3" text-anchor="middle" font-family="DejaVu Sans,Arial,sans-serif" '
               'font-size="10" font-weight="bold" fill="#fff">!</text>')
_LOCK = ('<rect x="2.5" y="7" width="11" height="8.5" rx="1.5" fill="{0}"/>'
         '<path d="M5 7V4.8a3 3 0 0 1 6 0{1}" fill="none" stroke="{0}" stroke-width="1.8"/>')
SHAPES = {
    "pass": _CHECK, "approve": _CHECK, "fail": _CROSS, "drop": _CROSS, "undefined": _CROSS, "block": _CROSS,
    "inconclusive": _CIRCLE.format(AMBER) + _LETTER.format("?"), "skipped": _DASH, "untested": _DASH,
    "first-model": _CIRCLE.format(BLUE) + f'<path d="M8 4.2v7.6M4.2 8h7.6" {_STROKE}/>',
    "overridden": _TRIANGLE, "warning": _TRIANGLE, "info": _CIRCLE.format(BLUE) + _LETTER.format("i"),
    "sealed": _LOCK.format(GREEN, "V7"), "unlocked": _LOCK.format(AMBER, "V5.2"),
}


def emoji(name: str) -> str:
    return EMOJI[name]


def svg_mark(name: str) -> Markup:
    """A 1em inline SVG for ``name``: decorative (``aria-hidden``) because a word stands beside it."""
    return Markup(f'<svg class="mark" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" '
                  f'focusable="false">{SHAPES[name]}</svg>')
