"""The model registry: immutable versions and movable aliases.

This module holds the interface every backend implements and the file registry, the
embedded default. Backends that talk to services (GitHub Releases) live at the edge
(``action``) and implement the same interface, so the engine never knows which one it has.
"""

from __future__ import annotations

from contextlib import contextmanager
import fcntl
import json
from pathlib import Path

from ..errors import ConfigError, RegistryError
from ..paths import atomic_write, sha256_file
from .base import (INDEX, utc_now, SCHEMA_VERSION, CanaryEnd, Rollback, Version, done_before, history_step, landed,
                   production_history, rollback_target, unset_alias)


class FileRegistry:
    """``versions/<n>/model.<ext>`` plus ``registry.json`` (format in DESIGN.md)."""

    def __init__(self, root: Path, *, label: str | None = None, create: bool = False):
        self.root = Path(root)
        self.label = label or str(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
            if not (self.root / INDEX).exists():
                self._write(self.index())
        if not self.root.is_dir():
            # A typo in the registry path must never look like "no production model yet".
            raise ConfigError(
                f"production.registry: registry directory {self.label!r} does not exist; create it "
                "(an empty registry means 'no production model yet') or fix the path"
            )

    def describe(self) -> str:
        return f"file registry {self.label}"

    # -------------------------------------------------------------- reading

    def index(self) -> dict:
        path = self.root / INDEX
        if not path.exists():
            return {"schema_version": SCHEMA_VERSION, "versions": [], "aliases": {}, "audit": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{self.label}/{INDEX}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise RegistryError(f"{self.label}/{INDEX}: expected schema_version {SCHEMA_VERSION}")
        for key, kind in (("versions", list), ("aliases", dict), ("audit", list)):
            if not isinstance(data.get(key, kind()), kind):
                raise RegistryError(f"{self.label}/{INDEX}: {key!r} must be a {kind.__name__}")
            data.setdefault(key, kind())
        return data

    def versions(self) -> list[Version]:
        fields = set(Version.__dataclass_fields__)
        out = []
        for i, entry in enumerate(self.index()["versions"]):
            try:
                out.append(Version(**{k: v for k, v in entry.items() if k in fields}))
            except TypeError as exc:
                raise RegistryError(f"{self.label}/{INDEX}: versions[{i}] is malformed ({exc})") from None
        return out

    def get(self, number: int) -> Version:
        for v in self.versions():
            if v.version == number:
                return v
        raise RegistryError(f"{self.label}: no version {number}")

    def aliases(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.index()["aliases"].items()}

    def held_aliases(self) -> set[str]:
        """The aliases set now plus every alias the audit log records a move of."""
        data = self.index()
        return set(data["aliases"]) | {e["alias"] for e in data["audit"] if isinstance(e, dict) and e.get("alias")}

    def audit(self) -> list[dict]:
        """Every move recorded, oldest first."""
        return [e for e in self.index()["audit"] if isinstance(e, dict)]

    def resolve(self, alias: str) -> Version | None:
        data = self.index()
        number = data["aliases"].get(alias)
        if number is None:
            return unset_alias(self.describe(), alias, empty=not data["versions"], current=self.aliases(),
                               held=self.held_aliases())
        return self.get(int(number))

    def fetch(self, version: Version) -> Path:
        path = (self.root / version.path).resolve()
        if self.root.resolve() not in path.parents:
            raise RegistryError(f"{self.label}: version {version.version} path {version.path!r} leaves the registry")
        if not path.is_file():
            raise RegistryError(f"{self.label}: version {version.version} artifact {version.path} is missing")
        actual = sha256_file(path)
        if actual != version.sha256:
            raise RegistryError(
                f"{self.label}: version {version.version} artifact {version.path} has SHA-256 {actual[:12]}…, "
                f"the registry recorded {version.sha256[:12]}… (tampered or corrupt)"
            )
        return path

    # -------------------------------------------------------------- writing

    @contextmanager
    def transaction(self):
        """Read-modify-write of ``registry.json`` under an exclusive lock, written atomically.

        A crash at any point leaves either the old index or the new one: artifacts are written
        (atomically) before the index that names them, and the index is replaced by rename.
        """
        lock_path = self.root / ".lock"
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                data = self.index()
                yield data
                self._write(data)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def promote(self, artifact: Path, *, source: str, by: str, reason: str = "", pr: int | None = None,
                metrics: dict | None = None, result_sha256: str | None = None, result_json: bytes | None = None,
                alias: str = "production", action: str = "promote", holdout_sha256: str | None = None) -> Version:
        """Store ``artifact`` as a new immutable version (an identical one is reused) and point
        ``alias`` at it; for ``production`` the old production becomes ``previous`` (``canary``
        leaves both as they are)."""
        digest = sha256_file(artifact)
        with self.transaction() as data:
            existing = next((v for v in data["versions"] if v.get("sha256") == digest), None)
            now = utc_now()
            if existing is None:
                number = max((int(v["version"]) for v in data["versions"]), default=0) + 1
                rel = f"versions/{number}/model{artifact.suffix}"
                target = self.root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_bytes(target, artifact.read_bytes())
                if result_json is not None:
                    _atomic_write_bytes(target.parent / "result.json", result_json)
                data["versions"].append({
                    "version": number, "sha256": digest, "path": rel, "created_at": now, "source": source,
                    "metrics": metrics or {}, "result_sha256": result_sha256, "promoted_by": by, "pr": pr,
                    "reason": reason, "holdout_sha256": holdout_sha256,
                })
                data["audit"].append({"at": now, "action": "add", "version": number, "by": by, "pr": pr, "reason": reason,
                                      "holdout_sha256": holdout_sha256})
            else:
                number = int(existing["version"])
            _move_alias(data, alias, number, by=by, pr=pr, reason=reason, action=action, at=now)
        return self.get(number)

    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production",
                 request: str | None = None) -> Rollback:
        """``alias`` one step back along its history, or to ``to`` (see ``Registry.rollback``),
        in one transaction."""
        with self.transaction() as data:
            current = data["aliases"].get(alias)
            if done_before(landed(data["audit"], alias, current), request):
                target = current
            else:
                target = rollback_target(self.label, production_history(data["audit"], alias, current), to)
                if not any(int(v["version"]) == target for v in data["versions"]):
                    raise RegistryError(f"{self.label}: no version {target}")
                _move_alias(data, alias, target, by=by, pr=None, reason=reason, action="rollback", at=utc_now(),
                            request=request)
            previous = data["aliases"].get("previous") if alias == "production" else None
        return Rollback(production=self.get(int(target)), changed=target != current, rolled_from=current,
                        previous=previous)

    def end_canary(self, number: int, *, promote: bool, by: str, reason: str, action: str,
                   alias: str = "production") -> CanaryEnd:
        """End version ``number``'s canary (see ``Registry.end_canary``) in one transaction:
        every alias it moves, and their audit entries, land in one atomic write or none."""
        number = int(number)
        with self.transaction() as data:
            if not any(int(v["version"]) == number for v in data["versions"]):
                raise RegistryError(f"{self.label}: no version {number}")
            aliases, now = data["aliases"], utc_now()
            changed = False
            if promote and aliases.get(alias) != number:
                _move_alias(data, alias, number, by=by, pr=None, reason=reason, action=action, at=now)
                changed = True
            if aliases.get("canary") == number:
                del aliases["canary"]
                data["audit"].append({"at": now, "action": action, "version": None, "by": by, "pr": None,
                                      "reason": reason, "alias": "canary", "from": number})
                changed = True
            end = CanaryEnd(changed=changed, production=aliases.get(alias), previous=aliases.get("previous"),
                            canary=aliases.get("canary"))
        return end

    def _write(self, data: dict) -> None:
        _atomic_write_bytes(self.root / INDEX, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def _move_alias(data: dict, alias: str, number: int, *, by, pr, reason, action, at, request=None) -> None:
    """Point ``alias`` at ``number``, audited; for production, ``previous`` follows its history
    (the version the next rollback restores; none at the history's start)."""
    current = data["aliases"].get(alias)
    if current == number:
        return
    if alias == "production":
        history = history_step(production_history(data["audit"], alias, current), number, rollback=action == "rollback")
        if len(history) > 1:
            data["aliases"]["previous"] = history[-2]
        else:
            data["aliases"].pop("previous", None)
    data["aliases"][alias] = number
    entry = {"at": at, "action": action, "version": number, "by": by, "pr": pr, "reason": reason, "alias": alias,
             "from": current}
    data["audit"].append({**entry, "request": request} if request else entry)


def _atomic_write_bytes(target: Path, payload: bytes) -> None:
    with atomic_write(target) as fh:
        fh.write(payload)

