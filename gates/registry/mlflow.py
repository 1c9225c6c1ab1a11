"""The model registry on MLflow (extra ``mlflow``): registered model versions and aliases.

Each version is a run in the ``mlgate`` experiment whose artifacts are the model file and its
``result.json``; the registered model version points at them and carries mlgate's metadata
as tags (SHA-256, who, why). ``production``, ``previous`` and ``canary`` are MLflow aliases, so
the same contract as the file registry holds. MLflow keeps no alias history, so every alias
mlgate moves is also recorded in the registered model's ``mlgate.aliases`` tag: an alias cleared
since (in MLflow's UI, say) was held and reads as "none"; one never held is a typo (an alias set
and cleared outside mlgate, never seen by it, reads as a typo too: the safe side). The tracking
URI comes from the policy, never from the environment.

MLflow has no transactions, so a move is a sequence of alias calls ordered to be safe when
cut short: its audit entries are written first (tags ``mlgate.audit.NNNNNN`` on the registered
model, one per entry, the last 200 kept: one JSON list would outgrow the 5000 characters a
registered-model tag holds in a SQL-backed tracking server), then ``previous``, then the alias
itself, then ``canary`` is cleared; a rerun finds what is left and finishes it (and records
that part again: an entry says what a call was about to move, so none is ever missing).
"""

from __future__ import annotations

import json
from pathlib import Path
import tempfile

from ..errors import InfrastructureError, RegistryError
from ..paths import sha256_file
from .base import (utc_now, CanaryEnd, Rollback, Version, done_before, history_step, landed, production_history,
                   rollback_target, unset_alias)

EXPERIMENT = "mlgate"


TAG = "mlgate."


HISTORY_TAG = TAG + "aliases"  # on the registered model: a JSON list of every alias mlgate moved


AUDIT_TAG = TAG + "audit."  # on the registered model: one JSON entry per tag, numbered


AUDIT_KEEP = 200


class MlflowRegistry:
    def __init__(self, model_name: str, tracking_uri: str, *, artifact_location: str | None = None,
                 cache: Path | None = None, alias: str = "production"):
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise RegistryError("production.registry.kind: mlflow needs the mlflow extra: pip install 'mlgate[mlflow]'") from None
        self.name = model_name
        self.uri = tracking_uri
        self.alias = alias
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.artifact_location = artifact_location
        self.cache = Path(cache or tempfile.mkdtemp(prefix="mlgate-mlflow-"))

    def describe(self) -> str:
        return f"MLflow registered model {self.name!r} at {self.uri}"

    # -------------------------------------------------------------- reading

    def _model_versions(self) -> list:
        from mlflow.exceptions import MlflowException

        try:
            return list(self.client.search_model_versions(f"name='{self.name}'"))
        except MlflowException as exc:
            raise InfrastructureError(f"{self.describe()}: {exc.message}") from None

    def _version(self, mv) -> Version:
        tags = mv.tags or {}
        if TAG + "sha256" not in tags:
            raise RegistryError(f"{self.describe()}: version {mv.version} was not registered by mlgate (no sha256 tag)")
        return Version(
            version=int(mv.version), sha256=tags[TAG + "sha256"], path=tags.get(TAG + "asset", "model.skops"),
            created_at=tags.get(TAG + "created_at", ""), source=tags.get(TAG + "source", ""),
            metrics=json.loads(tags.get(TAG + "metrics", "{}")), result_sha256=tags.get(TAG + "result_sha256") or None,
            promoted_by=tags.get(TAG + "promoted_by"), pr=int(tags[TAG + "pr"]) if tags.get(TAG + "pr") else None,
            reason=tags.get(TAG + "reason"), holdout_sha256=tags.get(TAG + "holdout_sha256") or None,
        )

    def versions(self) -> list[Version]:
        return sorted((self._version(mv) for mv in self._model_versions()), key=lambda v: v.version)

    def get(self, number: int) -> Version:
        for v in self.versions():
            if v.version == int(number):
                return v
        raise RegistryError(f"{self.describe()}: no version {number}")

    def _registered_model(self):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(self.name)
        except MlflowException:
            return None

    def aliases(self) -> dict[str, int]:
        model = self._registered_model()
        return {} if model is None else {alias: int(version) for alias, version in (model.aliases or {}).items()}

    def held_aliases(self) -> set[str]:
        model = self._registered_model()
        if model is None:
            return set()
        return set(model.aliases or {}) | set(_history(model, self.describe()))

    def resolve(self, alias: str) -> Version | None:
        current = self.aliases()
        number = current.get(alias)
        if number is None:
            return unset_alias(self.describe(), alias, empty=not self._model_versions(), current=current,
                               held=self.held_aliases())
        return self.get(number)

    def fetch(self, version: Version) -> Path:
        mv = self.client.get_model_version(self.name, str(version.version))
        target = self.cache / str(version.version)
        target.mkdir(parents=True, exist_ok=True)
        import mlflow.artifacts

        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{mv.source}/{version.path}",
                                                         dst_path=str(target), tracking_uri=self.uri))
        actual = sha256_file(local)
        if actual != version.sha256:
            raise RegistryError(
                f"{self.describe()}: version {version.version} artifact {version.path} has SHA-256 {actual[:12]}…, "
                f"the registry recorded {version.sha256[:12]}… (tampered or corrupt)"
            )
        return local

    # -------------------------------------------------------------- writing

    def promote(self, artifact: Path, *, source: str, by: str, reason: str = "", pr: int | None = None,
                metrics: dict | None = None, result_sha256: str | None = None, result_json: bytes | None = None,
                alias: str = "production", action: str = "promote", holdout_sha256: str | None = None) -> Version:
        digest = sha256_file(artifact)
        existing = next((v for v in self.versions() if v.sha256 == digest), None)
        if existing is None:
            existing = self._register(artifact, digest, source=source, by=by, reason=reason, pr=pr, metrics=metrics,
                                      result_sha256=result_sha256, result_json=result_json,
                                      holdout_sha256=holdout_sha256)
        self._move(alias, existing.version, by=by, reason=reason, pr=pr, action=action)
        return existing

    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production",
                 request: str | None = None) -> Rollback:
        """``alias`` one step back along its history, or to ``to`` (see ``Registry.rollback``):
        the audit entry, ``previous``, then the alias. Cut short after the entry, production has
        not moved and the history leaves that entry out, so a rerun makes the same move."""
        current = self.aliases().get(alias)
        audit = landed(self.audit(), alias, current)
        target = current if done_before(audit, request) else rollback_target(
            self.describe(), production_history(audit, alias, current), to)
        version = self.get(target)
        self._move(alias, target, by=by, reason=reason, action="rollback", request=request)
        return Rollback(production=version, changed=target != current, rolled_from=current,
                        previous=self.aliases().get("previous") if alias == "production" else None)

    def end_canary(self, number: int, *, promote: bool, by: str, reason: str, action: str,
                   alias: str = "production") -> CanaryEnd:
        """End version ``number``'s canary (see ``Registry.end_canary``): ``previous``, then the
        production alias, then the canary alias cleared. Cut short after either of the first two,
        production is the old or the new version and the canary still set; a rerun finds
        production already moved and only clears the canary."""
        number = int(number)
        self.get(number)
        before = self.aliases()
        current, steps, entries = before.get(alias), [], []
        if promote and current != number:
            steps += self._production_steps(alias, number, current, before)
            entries.append(_entry(action, number, alias, current, by=by, reason=reason))
        if before.get("canary") == number:
            steps.append(("canary", None))
            entries.append(_entry(action, None, "canary", number, by=by, reason=reason))
        self._commit(steps, entries)
        after = self.aliases()
        return CanaryEnd(changed=bool(steps), production=after.get(alias), previous=after.get("previous"),
                         canary=after.get("canary"))

    def audit(self) -> list[dict]:
        """The audit entries kept, oldest first."""
        model = self._registered_model()
        tags = (model.tags or {}) if model is not None else {}
        return [_parse_entry(tags[key], key, self.describe()) for _, key in _audit_keys(tags)]

    def _move(self, alias: str, number: int, *, by: str, reason: str, action: str, pr: int | None = None,
              request: str | None = None) -> None:
        aliases = self.aliases()
        current = aliases.get(alias)
        if current == number:
            return
        self._commit(self._production_steps(alias, number, current, aliases, rollback=action == "rollback"),
                     [_entry(action, number, alias, current, by=by, reason=reason, pr=pr, request=request)])

    def _production_steps(self, alias: str, number: int, current: int | None, aliases: dict[str, int], *,
                          rollback: bool = False) -> list[tuple[str, int | None]]:
        """``previous`` first (the version the next rollback restores, from the history; deleted
        at its start), then the alias: cut short in between, production has not moved."""
        if alias != "production":
            return [(alias, number)]
        history = history_step(production_history(self.audit(), alias, current), number, rollback=rollback)
        previous = history[-2] if len(history) > 1 else None
        keep = [] if aliases.get("previous") == previous or (previous is None and "previous" not in aliases) \
            else [("previous", previous)]
        return keep + [(alias, number)]

    def _commit(self, steps: list[tuple[str, int | None]], entries: list[dict]) -> None:
        """Audit first (an entry says what is about to move), then the aliases in order, then the
        alias history: a crash after the moves leaves an alias set (so held) and only its record
        in the history missing until the next move."""
        if not steps:
            return
        self._audit(entries)
        for name, number in steps:
            if number is None:
                self.client.delete_registered_model_alias(self.name, name)
            else:
                self.client.set_registered_model_alias(self.name, name, str(number))
        held = sorted(set(_history(self._registered_model(), self.describe())) | {name for name, _ in steps})
        self.client.set_registered_model_tag(self.name, HISTORY_TAG, json.dumps(held))

    def _audit(self, entries: list[dict]) -> None:
        keys = _audit_keys(self._registered_model().tags or {})
        last = keys[-1][0] if keys else 0
        for i, entry in enumerate(entries, 1):
            self.client.set_registered_model_tag(self.name, f"{AUDIT_TAG}{last + i:06d}", json.dumps(entry))
        for _, key in keys[:max(0, len(keys) + len(entries) - AUDIT_KEEP)]:
            self.client.delete_registered_model_tag(self.name, key)

    def _register(self, artifact: Path, digest: str, **meta) -> Version:
        from mlflow.exceptions import MlflowException

        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
            EXPERIMENT, artifact_location=self.artifact_location)
        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(self.name, description="Registered by mlgate")
        run = self.client.create_run(experiment_id, tags={"mlgate.kind": "model-version"})
        asset = f"model{artifact.suffix}"
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "mlgate"
            folder.mkdir()
            (folder / asset).write_bytes(artifact.read_bytes())
            if meta.get("result_json") is not None:
                (folder / "result.json").write_bytes(meta["result_json"])
            self.client.log_artifacts(run.info.run_id, str(folder), artifact_path="mlgate")
        self.client.set_terminated(run.info.run_id)
        tags = {
            "sha256": digest, "asset": asset, "source": meta["source"], "promoted_by": meta["by"],
            "reason": meta["reason"], "pr": "" if meta["pr"] is None else str(meta["pr"]),
            "metrics": json.dumps(meta["metrics"] or {}), "result_sha256": meta["result_sha256"] or "",
            "holdout_sha256": meta.get("holdout_sha256") or "",
            "created_at": utc_now(),
        }
        mv = self.client.create_model_version(self.name, source=f"runs:/{run.info.run_id}/mlgate",
                                              run_id=run.info.run_id, tags={TAG + k: v for k, v in tags.items()})
        return self._version(self.client.get_model_version(self.name, mv.version))


def _entry(action: str, version: int | None, alias: str, was: int | None, *, by: str, reason: str,
           pr: int | None = None, request: str | None = None) -> dict:
    # Reasons are cut so that an entry fits a registered-model tag (5000 characters in SQL stores).
    entry = {"at": utc_now(), "action": action, "version": version, "by": by, "pr": pr, "reason": (reason or "")[:2000],
             "alias": alias, "from": was}
    return {**entry, "request": request} if request else entry


def _audit_keys(tags: dict) -> list[tuple[int, str]]:
    return sorted((int(k[len(AUDIT_TAG):]), k) for k in tags if k.startswith(AUDIT_TAG) and k[len(AUDIT_TAG):].isdigit())


def _parse_entry(text: str, key: str, describe: str) -> dict:
    try:
        entry = json.loads(text)
    except json.JSONDecodeError:
        entry = None
    if not isinstance(entry, dict):
        raise RegistryError(f"{describe}: its {key} tag is not a JSON audit entry")
    return entry



def _history(model, describe: str) -> list[str]:
    try:
        names = json.loads((model.tags or {}).get(HISTORY_TAG, "[]"))
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RegistryError(f"{describe}: its {HISTORY_TAG} tag is not a JSON list of alias names")
    return names
