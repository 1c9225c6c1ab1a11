"""Write an evaluation's files into the output directory, each one atomically.

``result.json``; ``report.md``, the PR comment's body fitted to GitHub's 65,536 characters;
``report-full.md``, the same report with every slice and chart (up to 1 MiB) for the artifact;
``summary.md``, the job and check-run summary fitted to 65,535; ``report.html``, the
standalone report with plots; ``junit.xml``, one test case per gate; plus the evaluated
candidate as ``candidate.<ext>`` so one upload of the directory carries everything a later,
privileged promotion needs.
"""

from __future__ import annotations

from pathlib import Path
import shutil

from .paths import atomic_write, write_texts
from .report import COMMENT_LIMIT, FULL_LIMIT, SUMMARY_LIMIT, render_html, render_junit, render_markdown, render_summary
from .result import Result, dumps, to_dict


def write_outputs(result: Result, out: Path, *, candidate_path: Path | None = None, run_url: str | None = None) -> dict[str, Path]:
    out = Path(out)
    written = write_texts(out, {
        "result.json": dumps(to_dict(result)),
        "report.md": render_markdown(result, run_url=run_url, limit=COMMENT_LIMIT, report_dir=out),
        "report-full.md": render_markdown(result, run_url=run_url, limit=FULL_LIMIT, report_dir=out),
        "summary.md": render_summary(result, run_url=run_url, limit=SUMMARY_LIMIT, report_dir=out),
        "report.html": render_html(result, run_url=run_url, report_dir=out),
        "junit.xml": render_junit(result),
    })
    if candidate_path is not None and candidate_path.is_file():
        target = out / f"candidate{candidate_path.suffix}"
        with open(candidate_path, "rb") as source, atomic_write(target) as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        written["candidate"] = target
    return written
