"""The demo's rendered report as people and tools see it.

Gold files pin the comment and the job summary (volatile parts scrubbed: SHA-256s, timings,
sizes, the version); regenerate them with ``MLGATE_UPDATE_GOLD=1 python -m pytest
tests/test_report_render.py`` and review the diff. Headless Chromium opens and screenshots the
HTML report; the official mermaid-cli renders every Mermaid block. Those two need Debian's
``chromium`` and ``.ci/node`` (``.ci/run`` installs both); elsewhere they skip and say why,
except under CI, where a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.gates.demo import build
from mlgate.gates.config.parse import load_policy
from mlgate.gates.engine import evaluate
from mlgate.gates.outputs import write_outputs
from mlgate.gates.report import COMMENT_LIMIT, SUMMARY_LIMIT, render_markdown

sys.path.insert(0, str(Path(__file__).parent))
from test_report import gate, result, slice_gate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "gold"
NODE = REPO / ".ci" / "node"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars"]


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must have it: .ci/run installs it)")
    pytest.skip(what)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    missing("headless Chromium is not installed (Debian: apt-get install chromium)")


def mmdc() -> tuple[str, Path]:
    exe = NODE / "node_modules" / ".bin" / "mmdc"
    if not exe.is_file():
        found = shutil.which("mmdc")
        if found is None:
            missing("mermaid-cli is not installed (cd .ci/node && PUPPETEER_SKIP_DOWNLOAD=1 npm install)")
        exe = Path(found)
    chromium()
    return str(exe), NODE / "puppeteer-config.json"


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """The demo's three scenarios, evaluated once for the whole module."""
    out = {}
    for scenario in ("worse", "first"):
        ws = build(tmp_path_factory.mktemp(scenario) / "ws", scenario)
        res = evaluate(load_policy(ws / ".github" / "mlgate.yml"), ws)
        files = write_outputs(res, ws / "mlgate-report", candidate_path=res.candidate_file)
        out[scenario] = (res, files)
    return out


def scrub(text: str) -> str:
    """Remove what changes from run to run or machine to machine."""
    text = re.sub(r"`[0-9a-f]{12}`", "`<sha>`", text)
    text = re.sub(r"\bmlgate \d+\.\d+\.\d+\S*", "mlgate <version>", text)
    text = re.sub(r"\d+(\.\d+)? MB\b", "<size> MB", text)
    text = re.sub(r"`[^`\n]*/mlgate-report`", "`<workspace>/mlgate-report`", text)  # the output directory
    lines = []
    for line in text.splitlines():
        if line.lstrip("|-* ").startswith(("latency_ms_per_1k", "model_size_mb")):  # measured, not computed
            line = re.sub(r"(?<!\w)\d+(\.\d+)?(e-?\d+)?", "<n>", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("scenario, name", [("worse", "report.md"), ("worse", "summary.md"), ("first", "report.md")])
def test_demo_comment_and_summary_match_the_gold_files(demos, scenario, name):
    _, files = demos[scenario]
    got = scrub(files[name].read_text(encoding="utf-8"))
    gold = GOLD / f"demo-{scenario}.{name}"
    if os.environ.get("MLGATE_UPDATE_GOLD"):
        gold.parent.mkdir(exist_ok=True)
        gold.write_text(got, encoding="utf-8")
    assert gold.is_file(), f"{gold} is missing; run with MLGATE_UPDATE_GOLD=1 to create it"
    assert got == gold.read_text(encoding="utf-8"), f"{name} changed; if intended, MLGATE_UPDATE_GOLD=1 and review the diff"


def test_demo_writes_every_report_file_within_githubs_limits(demos):
    res, files = demos["worse"]
    for name in ("result.json", "report.md", "report-full.md", "summary.md", "report.html", "junit.xml"):
        assert files[name].is_file() and files[name].stat().st_size > 0, name
    comment = files["report.md"].read_text(encoding="utf-8")
    assert len(comment) <= COMMENT_LIMIT and len(files["summary.md"].read_text(encoding="utf-8")) <= SUMMARY_LIMIT
    assert comment == files["report-full.md"].read_text(encoding="utf-8")  # nothing to trim in the demo
    data = json.loads(files["result.json"].read_text())
    assert set(data["curves"]["roc"]) == {"candidate", "production"}


def test_demo_junit_is_read_by_a_junit_consumer(demos):
    from junitparser import JUnitXml

    res, files = demos["worse"]
    xml = JUnitXml.fromfile(str(files["junit.xml"]))
    cases = [case for suite in xml for case in suite]
    assert [c.name for c in cases] == [g.name for g in res.gates]
    assert [c.is_passed for c in cases] == [g.passed is True for g in res.gates]


def test_html_report_opens_in_headless_chromium_with_its_plots(demos, tmp_path):
    exe = chromium()
    _, files = demos["worse"]
    html = files["report.html"].read_text(encoding="utf-8")
    for plot in ("plot-differences", "plot-roc", "plot-calibration", "plot-slices:recall slice_max_drop"):
        assert f'id="{plot}"' in html, plot
    shot = tmp_path / "report.png"
    run = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                          "--window-size=1280,2200", files["report.html"].as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = pytest.importorskip("PIL.Image")
    with image.open(shot) as img:
        assert img.size == (1280, 2200)
        colours = {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 20)}
    # The candidate's and production's curve colours are on the page: the plots were drawn.
    assert (9, 105, 218) in colours and (188, 76, 0) in colours


def test_mermaid_blocks_render_with_the_official_mermaid_cli(demos, tmp_path):
    exe, config = mmdc()
    tricky = slice_gate('region="north" | <b>ünïcode</b> & more', 20, failed=3)
    # Names a pull request controls that would close a label, a line or the fence, or add a directive.
    hostile = [gate(name) for name in ('a"] , "b', "x`` ```\n", "y\n    bar [1000]", '%%{init: {"theme": "dark"}}%%',
                                       "z]]\n```\n<!--", "\u202eevil")]
    texts = [demos["worse"][1]["report.md"].read_text(encoding="utf-8"),
             render_markdown(result([tricky, gate("a [bracketed] name: with, commas"), *hostile]))]
    blocks = [b for t in texts for b in re.findall(r"```mermaid\n.*?```", t, re.S)]
    assert len(blocks) == 5  # worse: differences, ROC, slices; tricky names: differences, slices
    source = tmp_path / "all.md"
    source.write_text("\n\n".join(f"## chart {i}\n\n{b}" for i, b in enumerate(blocks)), encoding="utf-8")
    run = subprocess.run([exe, "-p", str(config), "-i", str(source), "-o", str(tmp_path / "out.md"), "-e", "svg"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    svgs = sorted(tmp_path.glob("out-*.svg"))
    assert len(svgs) == len(blocks)
    assert all("<svg" in p.read_text() and "Syntax error" not in p.read_text() for p in svgs)


def test_html_verdicts_are_drawn_without_an_emoji_font(demos, tmp_path):
    """Debian's chromium with only DejaVu: emoji would be empty boxes, so the report's marks are
    inline SVG (drawn with shapes) beside words. The screenshot stays in tmp_path to look at."""
    exe = chromium()
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not (dejavu / "DejaVuSans.ttf").is_file():
        missing("DejaVu fonts are not installed (Debian: fonts-dejavu-core)")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    f"  <dir>{dejavu}</dir>\n  <cachedir>{tmp_path / 'fontcache'}</cachedir>\n</fontconfig>\n")
    listed = subprocess.run(["fc-list"], env={**os.environ, "FONTCONFIG_FILE": str(conf)}, capture_output=True, text=True)
    if listed.returncode == 0:
        assert "Emoji" not in listed.stdout and "DejaVu Sans" in listed.stdout
    _, files = demos["first"]  # a pass and five skipped gates: green and grey marks
    html = files["report.html"].read_text(encoding="utf-8")
    assert not re.search("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]", html)
    shot = tmp_path / "report-no-emoji-font.png"
    run = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                          "--window-size=1280,1400", files["report.html"].as_uri()],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "FONTCONFIG_FILE": str(conf)})
    assert run.returncode == 0 and shot.is_file(), run.stderr[-3000:]
    image = pytest.importorskip("PIL.Image")
    with image.open(shot) as img:
        counts = {colour: n for n, colour in img.convert("RGB").getcolors(maxcolors=1 << 22)}
    # The marks' fills (gates.report.marks): the pass check's green and the skipped dash's grey,
    # in filled 16-pixel circles, one per gate row, in the details list and on the headline.
    assert counts.get((0x1a, 0x7f, 0x37), 0) > 150 and counts.get((0x6e, 0x77, 0x81), 0) > 500, counts
