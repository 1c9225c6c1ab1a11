"""The terminal: progress on one line on a TTY, plain lines elsewhere, a verdict table, --quiet and --json."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from mlgate.action.terminal import Progress, verdict_lines

sys.path.insert(0, str(Path(__file__).parent))
from test_report import gate, result  # noqa: E402


def test_progress_rewrites_one_line_on_a_tty():
    out = io.StringIO()
    ticks = iter([0.0, 1.5, 3.0])
    p = Progress(out, tty=True, clock=lambda: next(ticks))
    p("loading holdout")
    p("scoring candidate")
    p.done()
    text = out.getvalue()
    assert "\n" not in text and text.count("\r\x1b[2K") == 3
    assert "scoring candidate …  1.5s" in click.unstyle(text)


def test_progress_prints_plain_lines_elsewhere():
    out = io.StringIO()
    p = Progress(out, tty=False)
    p("loading holdout")
    p("scoring candidate")
    assert out.getvalue() == "· loading holdout\n· scoring candidate\n"


def test_verdict_table_names_every_gate_and_colours_the_outcome():
    res = result([gate(), gate("bad", passed=False, detail="lower end ≤ margin")])
    lines = verdict_lines(res, {"report.md": Path("out/report.md"), "result.json": Path("out/result.json")})
    plain = [click.unstyle(line) for line in lines]
    assert plain[0].startswith("mlgate: BLOCK — bad: lower end ≤ margin")
    assert any(line.strip().startswith("roc_auc non_inferior") and line.endswith("✓ pass") for line in plain)
    assert any(line.strip().startswith("bad") and line.endswith("✗ fail") for line in plain)
    assert "\x1b[31m" in lines[0] and any("\x1b[32m" in line for line in lines)
    assert plain[-1] == "report.md: out/report.md  result.json: out/result.json"


def test_quiet_and_json_print_no_progress_nor_table(tmp_path, run_cli):
    ws = tmp_path / "ws"
    assert run_cli("demo", "--out", ws, "--quiet").code == 0
    quiet = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "q", "--quiet")
    assert quiet.code == 0 and quiet.out == "" and quiet.err == ""
    as_json = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "j", "--json")
    assert as_json.err == "" and json.loads(as_json.out)["decision"] == "approve"
    loud = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "l")
    assert "· scoring both models" in loud.err and "mlgate: APPROVE" in loud.out and "report.html:" in loud.out
