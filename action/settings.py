"""The Actions environment, read once into a typed object.

Inputs arrive as ``INPUT_<NAME>`` variables (underscored names: a hyphenated input reaches a
container as ``INPUT_A-B``, which shells drop). The token is wrapped so that printing the
settings, an exception or a log line can never show it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..gates.errors import InputError

COMMANDS = ("auto", "evaluate", "promote", "rollback", "override", "canary", "drift", "retrain")


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    api_url: str
    repository: str
    event_name: str
    event_path: Path | None
    workspace: Path
    output_path: Path | None
    summary_path: Path | None
    sha: str | None
    server_url: str
    run_id: str | None
    token: Secret
    config: str
    command: str
    reason: str
    version: str
    pr: int | None
    comment: bool
    check_name: str
    fail_on_block: bool
    trust_pickle: bool
    bot_login: str
    gate_workflow: str
    candidate: str
    production: str
    data: str
    write_interval: float
    apply: bool = True  # command canary: move the registry's aliases as the verdict says

    @property
    def run_url(self) -> str | None:
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    def redact(self, text: str) -> str:
        token = self.token.reveal()
        return text.replace(token, "***") if token else text


SECRET_PREFIXES = ("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST",
                   "ACTIONS_CACHE_URL", "ACTIONS_RESULTS_URL")


def untrusted_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for PR code (a train command): everything but the tokens."""
    env = dict(os.environ if env is None else env)
    return {k: v for k, v in env.items() if not k.upper().startswith(SECRET_PREFIXES)}


def from_environment(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)

    def inp(name: str, default: str = "") -> str:
        return env.get(f"INPUT_{name.upper()}", default).strip() or default

    def flag(name: str, default: bool) -> bool:
        raw = inp(name, "true" if default else "false").lower()
        if raw not in ("true", "false"):
            raise InputError(f"input {name}: expected true or false, got {raw!r}")
        return raw == "true"

    command = inp("command", "auto").lower()
    if command not in COMMANDS:
        raise InputError(f"input command: expected one of {', '.join(COMMANDS)}, got {command!r}")
    pr_raw = inp("pr")
    if pr_raw and not pr_raw.isdigit():
        raise InputError(f"input pr: expected a pull request number, got {pr_raw!r}")
    repository = env.get("GITHUB_REPOSITORY", "")
    if repository.count("/") != 1:
        raise InputError(f"GITHUB_REPOSITORY: expected owner/name, got {repository!r}")
    try:
        write_interval = float(env.get("MLGATE_WRITE_INTERVAL", "1.0"))
    except ValueError:
        raise InputError("MLGATE_WRITE_INTERVAL: expected seconds as a number") from None

    def path(name: str) -> Path | None:
        value = env.get(name)
        return Path(value) if value else None

    return Settings(
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        repository=repository,
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event_path=path("GITHUB_EVENT_PATH"),
        workspace=Path(env.get("GITHUB_WORKSPACE") or os.getcwd()),
        output_path=path("GITHUB_OUTPUT"),
        summary_path=path("GITHUB_STEP_SUMMARY"),
        sha=env.get("GITHUB_SHA"),
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com"),
        run_id=env.get("GITHUB_RUN_ID"),
        token=Secret(inp("github_token") or env.get("GITHUB_TOKEN", "")),
        config=inp("config", ".github/mlgate.yml"),
        command=command,
        reason=inp("reason"),
        version=inp("version"),
        pr=int(pr_raw) if pr_raw else None,
        comment=flag("comment", True),
        check_name=inp("check_name", "mlgate"),
        fail_on_block=flag("fail_on_block", True),
        trust_pickle=flag("trust_pickle", False),
        bot_login=inp("bot_login", "github-actions[bot]"),
        gate_workflow=inp("gate_workflow", "mlgate.yml"),
        candidate=inp("candidate"),
        production=inp("production"),
        data=inp("data"),
        write_interval=write_interval,
        apply=flag("apply", True),
    )
