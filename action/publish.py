"""Publishing a verdict: the workflow's outputs and job summary, the sticky comment, the check.

Everything a job hands back to the workflow is gathered in a ``Publication`` and written once
at the end (``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``), so outputs and the job summary go
out whatever GitHub answers. Each piece on GitHub is published on its own: a refusal (a fork
PR's read-only token) warns once and the verdict stays in the summary and outputs; a failure
after retries is reported once the other pieces are out.

The check's conclusion is success only for approve, first-model or a verified override;
block and inconclusive fail it (never ``neutral``, which branch protection counts as a pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..gates.errors import ConfigError, InfrastructureError
from ..gates.escape import log_text

from .cli_options import DEFAULT_OUT
from .forge import CheckRef, CommentRef, Forbidden, Forge
from .settings import Settings

if TYPE_CHECKING:
    from ..gates.result import Result

PASSING = ("approve", "first-model")


@dataclass
class Publication:
    """What the job hands back to the workflow: outputs, the job summary, warnings, exit code."""

    settings: Settings
    outputs: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    warned: bool = False
    log: Callable[[str], None] = print
    published: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """One line in the workflow log: PR-derived text in it can never be a workflow command."""
        self.log(log_text(self.settings.redact(text)))

    def warn(self, text: str) -> None:
        """A ``::warning`` annotation of ours; its message escaped as the runner requires."""
        self.log(f"::warning title=mlgate::{command_data(self.settings.redact(text))}")

    def warn_unpublished(self, what: str, exc: Forbidden) -> None:
        """Warn once: a read-only token (fork PR) fails every write the same way."""
        if not self.warned:
            self.warn(f"could not {what} ({exc}); the verdict is in the job summary and outputs "
                      "(read-only token, e.g. a fork PR?)")
            self.warned = True

    def flush(self) -> None:
        if self.settings.output_path is not None and self.outputs:
            with open(self.settings.output_path, "a", encoding="utf-8") as fh:
                fh.write(format_outputs(self.outputs))
        if self.settings.summary_path is not None and self.summary:
            with open(self.settings.summary_path, "a", encoding="utf-8") as fh:
                fh.write("\n\n".join(self.summary) + "\n")


def command_data(text: str) -> str:
    """A workflow command's message, escaped the way the runner unescapes it (one line)."""
    return log_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_outputs(outputs: dict[str, str]) -> str:
    """``GITHUB_OUTPUT`` lines; multi-line values use the heredoc form with a unique delimiter."""
    lines = []
    for key, value in outputs.items():
        value = str(value)
        if "\n" in value:
            delimiter = "MLGATE_EOF"
            while delimiter in value:
                delimiter += "_"
            lines.append(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{key}={value}\n")
    return "".join(lines)


def publish(settings: Settings, pr: int | None, head_sha: str | None, result: Result, forge: Forge | None,
            pub: Publication, *, existing: CommentRef | None = None, check: CheckRef | None = None) -> int:
    """Write the report files, the outputs, the comment and the check. ``check`` is the run this
    job started (the judge edits only its own, never another judge's newer run of the same name).

    The files in ``mlgate-report/`` are the artifact; what goes to GitHub is rendered here at
    GitHub's own limits (the comment's less its state line), never read back from those files."""
    # Here, not at the top: rendering imports pandas and scipy, and every job builds a
    # Publication, including those that publish no verdict (an ignored event, /mlgate help).
    from ..gates.outputs import write_outputs
    from ..gates.report import render_summary

    from .sticky import publish_comment, read_state, report_body, with_attempt

    out_dir = settings.workspace / DEFAULT_OUT
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ConfigError(f"{DEFAULT_OUT}: is a symbolic link or not a directory; mlgate writes its report only into "
                          "a real directory of the workspace")
    written = write_outputs(result, out_dir, candidate_path=result.candidate_file, run_url=settings.run_url)
    summary = render_summary(result, run_url=settings.run_url)  # fitted to the check-run limit
    tried = read_state(existing.body) if existing is not None else {}
    state = {"sha": head_sha, "candidate": result.candidate["sha256"], **with_attempt(tried, result.candidate["sha256"])}
    body = report_body(result, state, run_url=settings.run_url)
    pub.outputs.update(decision=result.decision.decision, report_path=str(written["report.md"]),
                       result_path=str(written["result.json"]))
    pub.summary.append(summary)

    failures: list[str] = []
    if forge is not None and pr is not None and settings.comment:

        def publish_report() -> None:
            ref = publish_comment(settings, forge, pr, head_sha, body, existing, pub.say)
            if ref is not None:
                pub.outputs["comment_url"] = ref.url

        step(pub, failures, "the report comment", publish_report)
    passed = result.decision.decision in PASSING or bool(result.overridden)
    if forge is not None and head_sha is not None:

        def publish_check() -> None:
            current = check if check is not None else forge.find_check(settings.check_name, head_sha)
            forge.publish_check(settings.check_name, head_sha, conclusion="success" if passed else "failure",
                                title=check_title(result), summary=summary, existing=current)

        step(pub, failures, "the check run", publish_check)
    if failures:
        raise InfrastructureError(
            f"not published after retries: {'; '.join(failures)}. Published: the job summary, the outputs"
            + (f", {', '.join(pub.published)}" if pub.published else "") + f"; the verdict was {result.decision.decision}"
        )
    pub.say(f"mlgate: {result.decision.decision}{' (overridden)' if result.overridden else ''}: {result.decision.reasons[0]}")
    return 1 if not passed and settings.fail_on_block else 0


def step(pub: Publication, failures: list[str], what: str, action: Callable[[], None]) -> None:
    """Publish one piece; a refusal (read-only token) warns, a failure is reported at the end
    so the other pieces still go out."""
    try:
        action()
        pub.published.append(what)
    except Forbidden as exc:
        pub.warn_unpublished(f"publish {what}", exc)
    except InfrastructureError as exc:
        failures.append(f"{what} ({exc})")


def check_title(result: Result) -> str:
    if result.overridden:
        return f"Overridden by @{result.overridden['by']}"
    failed = [g.name for g in result.gates if g.passed is False]
    titles = {"approve": "Approved: all gates passed", "first-model": "First model: absolute gates passed"}
    verdict = "Inconclusive" if result.decision.decision == "inconclusive" else "Blocked"
    return titles.get(result.decision.decision) or f"{verdict}: {', '.join(failed) or result.decision.reasons[0]}"[:200]


def best_effort(action: Callable[[], None]) -> None:
    """Report a failure where it was asked, when already failing: reporting must not hide the
    first error."""
    try:
        action()
    except Exception:  # already failing: reporting must not hide the first error
        pass
