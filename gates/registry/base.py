"""The registry interface every backend (file, MLflow, GitHub Releases) implements, and the
alias rules they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Protocol

from ..errors import RegistryError

SCHEMA_VERSION = 1


INDEX = "registry.json"


# Aliases mlgate moves by itself beside the production one: unset, they mean "none", never a typo.
MANAGED_ALIASES = frozenset({"previous", "canary"})


class UnknownAlias(RegistryError):
    """An alias the registry has never held: a typo, never "no production model" (exit 2)."""


def unset_alias(describe: str, alias: str, *, empty: bool, current: dict[str, int], held: Iterable[str]) -> None:
    """Decide what an alias that points at nothing means; ``resolve`` calls it on a miss.

    ``None`` ("no model under it") only when that is a fact: the registry has no versions at
    all, the alias was held and then cleared, or mlgate manages it (``previous``, ``canary``).
    A registry that holds versions but never held ``production`` (only a canary, say) is not
    "no production": another tool may move its aliases unseen, so that stays a typo (promotion
    never makes such a registry: a first model goes straight to production).
    Otherwise it is a typo, and reading it as "no production model" would skip every
    comparison gate and approve the candidate as the first model.
    """
    held = set(held)
    if empty or alias in held or alias in MANAGED_ALIASES:
        return None
    has = ", ".join(f"{name} (v{number})" for name, number in sorted(current.items())) or "no aliases now"
    cleared = sorted(held - set(current))
    once = f" (once: {', '.join(cleared)})" if cleared else ""
    raise UnknownAlias(f"{describe} has never held the alias {alias!r}; it has {has}{once}. Only an empty "
                       "registry, or an alias that was cleared, means 'no production model'")


@dataclass(frozen=True)
class Version:
    version: int
    sha256: str
    path: str  # relative to the registry root
    created_at: str = ""
    source: str = ""
    metrics: dict | None = None
    result_sha256: str | None = None
    promoted_by: str | None = None
    pr: int | None = None
    reason: str | None = None
    holdout_sha256: str | None = None  # the holdout whose evaluation decided this promotion


@dataclass(frozen=True)
class Rollback:
    """What :meth:`Registry.rollback` left behind."""

    production: Version  # production after the call
    changed: bool  # False when production already was there, or this request was already done
    rolled_from: int | None  # production before the call
    previous: int | None  # where the next rollback goes (None: the start of the history)

    def summary(self, where: str) -> str:
        """One sentence for the terminal and the comment reply alike."""
        if not self.changed:
            return f"nothing changed: production already is version {self.production.version} in {where}"
        then = (f"the next rollback goes to version {self.previous}" if self.previous is not None
                else "it is the start of the production history")
        return f"production is now version {self.production.version} (was {self.rolled_from}) in {where}; {then}"


@dataclass(frozen=True)
class CanaryEnd:
    """What :meth:`Registry.end_canary` left behind: the aliases after the call."""

    changed: bool  # False when a rerun found the work already done (idempotent)
    production: int | None  # production's version after the call
    previous: int | None
    canary: int | None  # the canary alias after the call (None when cleared)


def history_step(history: list[int], version: int, *, rollback: bool) -> list[int]:
    """The production history after production moves to ``version``.

    A promotion (plain, forced or a canary's) pushes ``version``; a rollback to a version in the
    history cuts the history back to that version's last place, so the versions rolled away from
    leave it and the next rollback goes one further back, never forward again; a rollback to a
    version not in it (``--to N`` of one rolled away from earlier) pushes it like a promotion.
    """
    if rollback and version in history:
        return history[:len(history) - history[::-1].index(version)]
    return history if history and history[-1] == version else [*history, version]


def landed(entries: Iterable[dict], alias: str, current: int | None) -> list[dict]:
    """The audit log without a last move of ``alias`` that never landed: a backend without
    transactions writes the entry first, so cut short after it, production still is the
    entry's ``from``."""
    entries = [e for e in entries if isinstance(e, dict)]
    moves = [i for i, e in enumerate(entries) if e.get("alias") == alias and e.get("version") is not None]
    if moves and current is not None:
        last = entries[moves[-1]]
        if last.get("from") == current and last["version"] != current:
            return entries[:moves[-1]] + entries[moves[-1] + 1:]
    return entries


def production_history(entries: Iterable[dict], alias: str, current: int | None) -> list[int]:
    """The versions ``alias`` held that still stand, oldest first, replayed from the audit log
    (every move of ``alias`` that :func:`landed`, with :func:`history_step`); the last is
    ``current``.

    Production moved outside mlgate counts as a rollback to where it is. A log kept only in
    part starts from its first entry's ``from``. With no ``current`` (nothing in production)
    there is no history to walk back.
    """
    if current is None:
        return []
    moves = [e for e in landed(entries, alias, current) if e.get("alias") == alias and e.get("version") is not None]
    history = [int(moves[0]["from"])] if moves and moves[0].get("from") is not None else []
    for e in moves:
        history = history_step(history, int(e["version"]), rollback=e.get("action") == "rollback")
    if history[-1:] != [current]:
        history = history_step(history, current, rollback=True)
    return history


def rollback_target(describe: str, history: list[int], to: int | None) -> int:
    """Where a rollback goes: ``to``, else the version before production in its history."""
    if to is not None:
        return int(to)
    if not history:
        raise RegistryError(f"{describe}: no production version to roll back from")
    if len(history) < 2:
        raise RegistryError(f"{describe}: no earlier production version: version {history[-1]} is the start of "
                            "the production history (versions rolled away from are not returned to); name the "
                            "version to restore (mlgate rollback --to N)")
    return history[-2]


def done_before(entries: Iterable[dict], request: str | None) -> bool:
    """Whether the audit log (what :func:`landed`) already records this request: a rerun of the
    same job (a comment, a workflow run) that must not roll back a second time."""
    return request is not None and any(isinstance(e, dict) and e.get("request") == request for e in entries)


class Registry(Protocol):
    """What the engine, promotion and the CLI use; the file, GitHub Releases and MLflow
    backends all implement it and pass the same contract tests."""

    def describe(self) -> str: ...

    def versions(self) -> list[Version]:
        """Every version, oldest first."""
        ...

    def get(self, number: int) -> Version: ...

    def aliases(self) -> dict[str, int]:
        """The aliases set now."""
        ...

    def held_aliases(self) -> set[str]:
        """Every alias the registry has ever held, set now or cleared since."""
        ...

    def audit(self) -> list[dict]:
        """Every move recorded, oldest first: ``at``, ``action``, ``alias``, ``version``, ``from``,
        ``by``, ``reason`` (what a backend keeps; GitHub Releases the last few per release)."""
        ...

    def resolve(self, alias: str) -> Version | None:
        """The version under ``alias``; None only as :func:`unset_alias` allows, else
        :class:`UnknownAlias`."""
        ...

    def fetch(self, version: Version) -> Path:
        """A local path to the version's artifact, after checking its SHA-256."""
        ...

    def promote(self, artifact: Path, *, source: str, by: str, reason: str = "", pr: int | None = None,
                metrics: dict | None = None, result_sha256: str | None = None, result_json: bytes | None = None,
                alias: str = "production", action: str = "promote", holdout_sha256: str | None = None) -> Version:
        """Store ``artifact`` (an identical one is reused) and point ``alias`` at it."""
        ...

    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production",
                 request: str | None = None) -> Rollback:
        """Move ``alias`` one step back along its history (:func:`production_history`), or to
        version ``to``; ``previous`` becomes the step after that. Audited, atomic where the
        backend allows. Idempotent where it can be: ``to`` already production changes nothing,
        and neither does a ``request`` (a comment, a workflow run) the log already records.
        At the start of the history a :class:`RegistryError` says so."""
        ...

    def end_canary(self, number: int, *, promote: bool, by: str, reason: str, action: str,
                   alias: str = "production") -> CanaryEnd:
        """End version ``number``'s canary, as the canary judge decided.

        ``promote=True``: ``alias`` (production) ← ``number``, ``previous`` ← the old production,
        and ``canary`` cleared if it points at ``number``. ``promote=False`` (rollback, expired):
        ``canary`` cleared if it points at ``number``; production untouched. ``action`` is the
        audit word (``canary-promote``, ``canary-rollback``, ``canary-expired``).

        Atomic where the backend allows, else ordered so an interruption leaves a safe state
        that a rerun completes; audited; idempotent: a rerun changes nothing and returns
        ``changed=False``. An unknown ``number`` is a :class:`RegistryError`.
        """
        ...


def utc_now() -> str:
    """The time every audit entry and record carries: UTC to the second, as GitHub writes times."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
