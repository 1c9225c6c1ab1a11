"""Everything a pull request controls is shown literally: in the comment and job summary
(GitHub Markdown, which renders inline HTML and Mermaid), the HTML report, JUnit and the log.

Each attack below is text a PR can put in a file name, a column, a slice value, a gate name
(its own policy applies on first set-up), a reason or an override comment, and each worked
against the renderers before they escaped it: the tests check the rendered text itself. Where
``cmarkgfm`` (GitHub's own cmark-gfm) is installed, the Markdown is also rendered to HTML and
the structure checked, and property tests compare what GitHub would show with the input.
"""

from __future__ import annotations

import dataclasses
import html
import io
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.action.terminal import Progress, verdict_lines
from mlgate.gates.decision import Decision
from mlgate.gates.escape import log_text, md_code, md_fence, md_html, md_text, mermaid_text, one_line, visible, xml_text
from mlgate.gates.report import MARKER, render_html, render_junit, render_markdown, render_summary, trim_markdown
from mlgate.gates.rules import SliceResult

sys.path.insert(0, str(Path(__file__).parent))
from test_report import gate, result, slice_gate  # noqa: E402

ZWSP = "\u200b"
HIDE = "<!-- the rest is hidden"
BANNER = "\n> ⚠️ **Overridden** by @maintainer"
ROWS = "| fake | row |\n| fake | row |"
TEAM = "@acme/maintainers"
SHA = "0123456789abcdef0123456789abcdef01234567"


def gfm(markdown: str) -> str | None:
    """GitHub's Markdown rendered to HTML (raw HTML kept, as GitHub keeps it before sanitising)."""
    try:
        import cmarkgfm
        from cmarkgfm.cmark import Options
    except ImportError:
        return None
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def hostile_result(value: str, **kw):
    """One blocked result carrying ``value`` in every place a PR controls."""
    slices = slice_gate(f"recall {value}", 6, failed=1)
    rows = list(slices.slices)
    rows[0] = dataclasses.replace(rows[0], slice=f"region={value}")
    rows[1] = dataclasses.replace(rows[1], slice=f"region={value}", gated=False,
                                  detail=f"not gated: region={value} has 12 rows < min_support 50")
    slices = dataclasses.replace(slices, slices=rows, detail=f"1 of 6 gated slices dropped: region={value}")
    named = gate(f"auc {value}", passed=False, detail=f"column {value!s} is undefined")
    res = result([gate(), named, slices], notes=[f"This PR changes the holdout data/{value}.csv"])
    res = dataclasses.replace(
        res, candidate={**res.candidate, "source": f"build/{value}.skops"},
        data={**res.data, "source": f"data/{value}.csv"},
        decision=Decision("block", (f"the holdout data/{value}.csv is changed by this PR", f"auc {value}: bad")))
    return dataclasses.replace(res, **kw)


def markdowns(res) -> list[str]:
    return [render_markdown(res), render_summary(res)]


def outside_code(text: str) -> str:
    """The Markdown without its code blocks and spans (where ``<!--`` or ``@team`` are literal)."""
    text = re.sub(r"^(`{3,})[^`\n]*\n.*?^\1$", "```\n```", text, flags=re.M | re.S)
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "`code`", text)


# ----------------------------------------------------------------------------- Markdown: the attacks


@pytest.mark.parametrize("value", [HIDE, "x --> <!--", "<details><summary>", "</summary></details><!--"])
def test_an_html_comment_in_a_name_hides_nothing(value):
    for text in markdowns(hostile_result(value)):
        assert outside_code(text).count("<!--") == text.count(MARKER), "only the sticky marker is a comment"
        assert outside_code(text).count("<details>") == outside_code(text).count("</details>")
        rendered = gfm(text)
        if rendered is not None:
            assert rendered.count("<!--") == text.count(MARKER)
            assert "Gate details" in rendered and rendered.count("<tr>") >= 3 + 1 + 4 + 5


@pytest.mark.parametrize("value", [BANNER, "x\n\n> ⚠️ **Overridden** by @maintainer at now: ok", "\n# Approved ✅"])
def test_a_name_cannot_forge_a_banner_or_a_heading(value):
    for text in markdowns(hostile_result(value)):
        lines = outside_code(text).splitlines()
        assert not any(line.startswith(("> ⚠️ **Overridden**", "# Approved")) for line in lines)
        rendered = gfm(text)
        if rendered is not None:
            assert "<blockquote>" not in rendered.replace("<blockquote>\n<p>ℹ️", "")  # only the notes are quotes
            assert "<h1>" not in rendered and "<strong>Overridden</strong>" not in rendered


@pytest.mark.parametrize("value", [ROWS, "x | fake | row", "a\\| b", "c\\"])
def test_a_name_cannot_add_table_rows_or_cells(value):
    res = hostile_result(value)
    for text in markdowns(res):
        assert not any(line.startswith("| fake") for line in outside_code(text).splitlines())
        gate_rows = [line for line in text.splitlines() if line.startswith("| ") and "DeLong" in line]
        assert len(gate_rows) == 2
        rendered = gfm(text)
        if rendered is not None:
            tables = re.findall(r"<table>.*?</table>", rendered, re.S)
            gate_table, identities, slice_table = tables
            assert gate_table.count("<tr>") == 1 + 3 and all(row.count("<td") == 9 for row in
                                                            gate_table.split("<tbody>")[1].split("<tr>")[1:])
            assert identities.count("<tr>") == 1 + 4
            assert slice_table.count("<tr>") == 1 + 6
            assert "fake</td>" not in rendered


@pytest.mark.parametrize("value", [TEAM, "@octocat", "security@acme.example", "#1", "acme/repo#12"])
def test_a_name_pings_nobody_and_references_no_issue(value):
    for text in markdowns(hostile_result(value)):
        assert not re.search(r"@(?!\u200b)\S", outside_code(text)), "every @ from the PR has a zero-width space"
        assert not re.search(r"#\d", outside_code(text))


def test_a_diff_that_quotes_a_fence_cannot_close_it():
    diff = "-a\n+b\n```\n<!-- everything after this is hidden\n+```"
    note = f"This PR changes .github/mlgate.yml; the change applies after merge.\n```diff\n{diff}\n```"
    for text in markdowns(result([gate()], notes=[note])):
        assert "````diff\n-a\n+b\n```\n<!-- everything after this is hidden\n+```\n````" in text
        assert text.rstrip().endswith("</sub>")
        rendered = gfm(text)
        if rendered is not None:
            assert rendered.count("<!--") == text.count(MARKER) and "Gate details" in rendered
            assert "&lt;!-- everything after this is hidden" in rendered  # shown, inside the block


def test_the_trim_safety_net_closes_a_block_that_quotes_a_shorter_fence():
    text = "head\n\n" + md_fence("```\n" + "line\n" * 5_000, "diff") + "\n\nafter\n<details>\n"
    out = trim_markdown(text, 3_000)
    assert "line" not in out and out.startswith("head") and out.count("<details>") == out.count("</details>")


# ----------------------------------------------------------------------------- Mermaid


MERMAID_ATTACKS = ['a"] , "b', "x`` ```\n", "y\n    bar [1000]", '%%{init: {"theme": "dark"}}%%', "z]]\n```\n<!--",
                   "\u202eevil"]


def test_a_name_cannot_close_a_mermaid_label_line_or_fence():
    gates = [gate(f"g{i} {v}") for i, v in enumerate(MERMAID_ATTACKS)]
    tricky = slice_gate("s", 8, failed=2)
    tricky = dataclasses.replace(tricky, slices=[
        dataclasses.replace(s, slice=f"region={MERMAID_ATTACKS[i % len(MERMAID_ATTACKS)]}")
        for i, s in enumerate(tricky.slices)])
    text = render_markdown(result([*gates, tricky]))
    blocks = re.findall(r"```mermaid\n(.*?)\n```\n", text, re.S)
    assert len(blocks) == 2
    for block in blocks:
        lines = block.splitlines()
        assert lines[0].startswith("%%{init: ") and lines[1] == "xychart-beta" and len(lines) in (7, 8)
        assert "%%" not in "\n".join(lines[1:]) and "`" not in block and "\u202e" not in block
        assert re.fullmatch(r'    x-axis \[("[^"\]\[`]*")(, "[^"\]\[`]*")*\]', lines[2]), lines[2]
        assert all(re.fullmatch(r"    (bar|line) \[[-0-9., ]*\]", line) for line in lines[4:])


@pytest.mark.parametrize("value", MERMAID_ATTACKS + ["ünïcode <b>", ""])
def test_mermaid_text_keeps_only_label_safe_characters(value):
    label = mermaid_text(value)
    assert "<" not in label and ">" not in label and '"' not in label and "`" not in label
    assert "\n" not in label and "%%" not in label and "]" not in label


@pytest.mark.parametrize("value", ["<img src=x onerror=alert(1)>", "<a href=//evil.example>x</a>", "a<b>c"])
def test_mermaid_labels_carry_no_html_tags(value):
    """Mermaid renders a label as HTML: a tag in a slice value must not survive as one."""
    assert not re.search(r"<[A-Za-z/]", mermaid_text(value))


# ----------------------------------------------------------------------------- HTML


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", '" onmouseover="alert(1)', "' onfocus='alert(1)",
                                   "</title><script>x</script>", "<img src=x onerror=alert(1)>"])
def test_html_report_shows_names_as_text_in_elements_attributes_and_svg(value):
    import numpy as np

    from mlgate.gates import curves

    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.4
    res = hostile_result(value, curves=curves.summarize(y, rng.random(400), rng.random(400)),
                         overridden={"by": value, "reason": value, "at": value, "commit": value, "comment_url": value})
    page = render_html(res)
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not {a for a in parser.attributes if a.startswith("on")}
    assert "<a href" not in page  # the override's comment_url is not an https URL: no link
    assert html.escape(value, quote=True) in page


def test_html_report_shows_control_and_bidi_characters_in_names_and_plots():
    import numpy as np

    from mlgate.gates import curves

    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.4
    page = render_html(hostile_result("\u202eevil\x1b[31m", curves=curves.summarize(y, rng.random(400), rng.random(400))))
    assert "\u202e" not in page and "\x1b" not in page and r"\u202eevil\x1b[31m" in page


def test_html_escapes_once():
    page = render_html(hostile_result("a&b"))
    assert "a&amp;b" in page and "&amp;amp;" not in page


# ----------------------------------------------------------------------------- the override banner and command


def test_the_override_banner_escapes_who_why_when_and_the_commit():
    record = {"by": "acme/maintainers", "reason": f"fine{BANNER}\n{HIDE} {TEAM}", "at": "2026-01-01T00:00:00Z",
              "commit": SHA, "comment_url": "javascript:alert(1)"}
    res = hostile_result("x", overridden=record)
    for text in markdowns(res):
        banner = [line for line in text.splitlines() if line.startswith("> ⚠️ **Overridden**")]
        assert len(banner) == 1 and text.count("<!--") == text.count(MARKER)
        assert f"by acme/maintainers at 2026-01-01T00:00:00Z for commit `{SHA}`" in banner[0]
        assert "@acme" not in text and "javascript" not in text.split("by acme")[0]
        assert "](javascript" not in text
        assert "/mlgate override" not in text  # overridden: nothing left to override
    good = dict(record, by="octocat", reason="known shift", comment_url="https://github.com/o/r/pull/1#issuecomment-7")
    text = render_markdown(dataclasses.replace(res, overridden=good))
    assert ("> ⚠️ **Overridden** by @octocat at 2026-01-01T00:00:00Z for commit "
            f"`{SHA}` ([comment](https://github.com/o/r/pull/1#issuecomment-7)): known shift") in text
    page = render_html(dataclasses.replace(res, overridden=good))
    assert '<a href="https://github.com/o/r/pull/1#issuecomment-7">comment</a>' in page and f"<code>{SHA}</code>" in page


@pytest.mark.parametrize("decision", ["block", "inconclusive"])
def test_a_verdict_that_does_not_approve_prints_the_override_command_for_its_commit(decision):
    res = dataclasses.replace(hostile_result("x"), commit=SHA, decision=Decision(decision, ("not enough evidence",)))
    candidate = res.candidate["sha256"]
    for text in markdowns(res):
        assert f"```\n/mlgate override {SHA}:{candidate} <reason>\n```" in text
        assert "maintain or admin role" in text and f"commit `{SHA}` and this candidate only" in text
    page = render_html(res)
    assert f"<pre>/mlgate override {SHA}:{candidate} &lt;reason&gt;</pre>" in page and "maintain or admin role" in page


@pytest.mark.parametrize("change", [dict(commit=None), dict(commit="HEAD"), dict(commit=SHA + "\n/mlgate override x"),
                                    dict(commit=SHA, decision=Decision("approve", ("all 1 gate(s) passed",))),
                                    dict(commit=SHA, overridden={"by": "octocat", "reason": "r", "at": "t",
                                                                 "commit": SHA, "comment_url": ""})])
def test_no_override_command_without_a_commit_to_name_or_a_verdict_to_override(change):
    res = dataclasses.replace(hostile_result("x"), **change)
    assert "/mlgate override" not in render_markdown(res) and "/mlgate override" not in render_html(res)


# ----------------------------------------------------------------------------- the sealed holdout


@pytest.mark.parametrize("sealed", [False, True, None])
def test_the_report_says_whether_the_holdout_is_sealed(sealed):
    res = result([gate()])
    data = dict(res.data) if sealed is None else {**res.data, "sealed": sealed}
    res = dataclasses.replace(res, data=data)
    for text in [*markdowns(res), render_html(res)]:
        warned = "can memorise it" in text and "Sealed holdout" in text
        assert warned == (sealed is False)
        assert ("sealed: read only by the judge" in text) == (sealed is True)
        assert ("not sealed" in text) == (sealed is False)
    holdout = next(line for line in render_markdown(res).splitlines() if line.startswith("| **Holdout**"))
    facts = {False: "100,000 rows, ⚠️ not sealed", True: "100,000 rows, 🔒 sealed: read only by the judge",
             None: "100,000 rows"}
    assert holdout.endswith(f"| {facts[sealed]} |")


# ----------------------------------------------------------------------------- JUnit, the terminal, the log


def test_junit_stays_well_formed_with_control_characters_in_names():
    value = "bad\x00\x1b[31m\x07\x0c name\u202e"
    res = hostile_result(value)
    xml = render_junit(res)
    root = ET.fromstring(xml.encode("utf-8"))
    names = [case.get("name") for case in root.iter("testcase")]
    assert names[1] == r"auc bad\x00\x1b[31m\x07 name\u202e"


def test_the_terminal_prints_no_control_sequence_or_workflow_command_from_a_name():
    value = "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\n::add-mask::secret"
    res = hostile_result(value, overridden={"by": "x\x1b[8m", "reason": "\n::error::forged", "at": "t", "commit": SHA,
                                            "comment_url": ""})
    lines = verdict_lines(res, {"report.md": Path("out/\x1b[31mreport.md")})
    for line in lines:
        plain = click.unstyle(line)
        assert "\x1b" not in plain and "\x07" not in plain and "\n" not in plain
        assert not plain.lstrip().startswith("::") and "::add-mask::" not in plain and "::error::" not in plain
    out = io.StringIO()
    Progress(out, tty=False)(f"loaded 10 rows from data/{value}.csv")
    assert "\x1b" not in click.unstyle(out.getvalue()) and out.getvalue().count("\n") == 1


def test_log_text_breaks_workflow_commands_and_shows_escapes():
    assert log_text("a\n::set-output name=x::y") == f"a :{ZWSP}:set-output name=x:{ZWSP}:y"
    assert log_text("##[error]x") == f"#{ZWSP}#[error]x"
    assert log_text("\x1b[31mred") == r"\x1b[31mred"


# ----------------------------------------------------------------------------- the escapers themselves


def test_ordinary_names_read_naturally():
    assert md_text("region=EU") == "region=EU"
    assert md_text("roc_auc non_inferior") == "roc_auc non_inferior"
    reason = "lower end of the 90% interval -0.6054 ≤ margin −0.01"
    assert md_text(reason) == reason
    assert md_code("build/model.skops") == "`build/model.skops`"
    assert md_code("a|b", in_table=True) == "`a\\|b`"


@pytest.mark.parametrize("value, expected", [
    ("<!--", "&lt;!--"), ("# heading", "\\# heading"), ("- item", "\\- item"), ("1. item", "1\\. item"),
    ("> quote", "&gt; quote"),
    ("**b** _i_ ~s~ `c` [l](u) $m$ a|b", "\\*\\*b\\*\\* \\_i\\_ \\~s\\~ \\`c\\` \\[l\\](u) \\$m\\$ a\\|b"),
    ("www.evil.example https://evil.example", "www\\.evil.example https\\://evil.example"),
    ("@team #12", f"\\@{ZWSP}team #{ZWSP}12"), ("a\nb\r\n\tc", "a b c"), ("\x1b[31m", "\\\\x1b\\[31m"),
])
def test_md_text_table(value, expected):
    assert md_text(value) == expected


def test_one_line_shows_control_and_bidi_characters():
    assert one_line("a\x00b\x7fc\u202ed\u2066e") == r"a\x00b\x7fc\u202ed\u2066e"
    assert xml_text("x\x0b\x1by") == r"x \x1by"


def test_md_html_is_for_raw_html_in_markdown():
    assert md_html('</summary><!-- "x" @a #1') == f"&lt;/summary&gt;&lt;!-- &quot;x&quot; @{ZWSP}a #{ZWSP}1"


def test_md_fence_is_longer_than_any_backtick_run_inside():
    assert md_fence("a ```` b\n```", "diff") == "`````diff\na ```` b\n```\n`````"
    assert md_fence("x\x1b\r\ny") == "```\nx\\x1b\ny\n```"


# ----------------------------------------------------------------------------- rendered by GitHub's cmark-gfm


PIECES = list("ab1 _*`[]()<>!&#;-+.=:/\\|~$^@{}\"'\n\t%?,w") + ["www.", "://", "<!--", "-->", "&lt;", "é", "≤",
                                                                 "1.", "GH-", "\x1b", "\u202e"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=25).map("".join)
PROPERTY = settings(max_examples=1500, suppress_health_check=list(HealthCheck), deadline=None)


def _shown(value: str) -> str:
    """What GitHub should display for ``value``: one line, with the zero-width spaces added."""
    text = one_line(value)
    text = re.sub(r"@(?=\S)", "@" + ZWSP, text)
    text = re.sub(r"(#|\bGH-)(?=\d)", lambda m: m.group(1) + ZWSP, text)
    return html.escape(text, quote=False).replace('"', "&quot;")


def _needs_gfm():
    if gfm("x") is None:
        pytest.skip("cmarkgfm (GitHub's cmark-gfm) is not installed")


@PROPERTY
@given(TEXT)
def test_md_text_renders_as_the_literal_text_in_a_list_a_quote_bold_and_a_table(value):
    _needs_gfm()
    shown, escaped = _shown(value), md_text(value)
    if shown:
        assert gfm(f"- {escaped}\n") == f"<ul>\n<li>{shown}</li>\n</ul>\n"
        assert gfm(f"> ℹ️ {escaped}\n") == f"<blockquote>\n<p>ℹ️ {shown}</p>\n</blockquote>\n"
        assert gfm(f"- **{escaped}** x\n") == f"<ul>\n<li><strong>{shown}</strong> x</li>\n</ul>\n"
    table = gfm(f"| a | b |\n|---|---|\n| {escaped} | z |\n")
    assert f"<tbody>\n<tr>\n<td>{shown}</td>\n<td>z</td>\n</tr>\n</tbody>" in table


@PROPERTY
@given(TEXT)
def test_md_code_renders_as_the_literal_text_in_and_out_of_a_table(value):
    _needs_gfm()
    shown = html.escape(one_line(value) or "  ", quote=False).replace('"', "&quot;")
    assert gfm(f"- x {md_code(value)} y\n") == f"<ul>\n<li>x <code>{shown}</code> y</li>\n</ul>\n"
    table = gfm(f"| a | b |\n|---|---|\n| {md_code(value, in_table=True)} | z |\n")
    assert f"<tbody>\n<tr>\n<td><code>{shown}</code></td>\n<td>z</td>\n</tr>\n</tbody>" in table


@PROPERTY
@given(TEXT)
def test_md_fence_and_md_html_keep_what_follows_them(value):
    _needs_gfm()
    out = gfm(f"before\n\n{md_fence(value, 'diff')}\n\nafter\n")
    body = re.fullmatch(r'<p>before</p>\n<pre lang="diff"><code>(.*)</code></pre>\n<p>after</p>\n', out, re.S)
    assert body is not None and html.unescape(body.group(1)).rstrip("\n") == visible(value, keep_lines=True).rstrip("\n")
    summary = f"<details><summary>x {md_html(value)}</summary>\n\nafter\n\n</details>\n"
    assert gfm(summary) == f"<details><summary>x {md_html(value)}</summary>\n<p>after</p>\n</details>\n"
