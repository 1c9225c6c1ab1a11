"""The registry interface every backend (file, MLflow, GitHub Releases) implements, and the
alias rules they share.
"""

from __future__ import annotations

from dataclasses import dataclass
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
class CanaryEnd:
    """What :meth:`Registry.end_canary` left behind: the aliases after the call."""

    changed: bool  # False when a rerun found the work already done (idempotent)
    production: int | None  # production's version after the call
    previous: int | None
    canary: int | None  # the canary alias after the call (None when cleared)


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

    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production") -> Version: ...

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
