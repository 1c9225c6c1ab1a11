"""The model registry on MLflow (extra ``mlflow``): registered model versions and aliases.

Each version is a run in the ``mlgate`` experiment whose artifacts are the model file and its
``result.json``; the registered model version points at them and carries mlgate's metadata
as tags (SHA-256, who, why). ``production`` and ``previous`` are MLflow aliases, so the same
contract as the file registry holds. MLflow keeps no alias history, so every alias mlgate moves
is also recorded in the registered model's ``mlgate.aliases`` tag: an alias cleared since (in
MLflow's UI, say) was held and reads as "none"; one never held is a typo (an alias set and
cleared outside mlgate, never seen by it, reads as a typo too: the safe side). The tracking URI
comes from the policy, never from the environment.
"""

from __future__ import annotations

from datetime import datetime, timezone
import json
from pathlib import Path
import tempfile

from ..errors import InfrastructureError, RegistryError
from ..paths import sha256_file
from .base import Version, unset_alias

EXPERIMENT = "mlgate"


TAG = "mlgate."


HISTORY_TAG = TAG + "aliases"  # on the registered model: a JSON list of every alias mlgate moved


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
        self._move(alias, existing.version)
        return existing

    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production") -> Version:
        aliases = self.aliases()
        to = aliases.get("previous") if to is None else int(to)
        if to is None:
            raise RegistryError(f"{self.describe()}: no previous version to roll back to")
        self.get(to)
        if aliases.get(alias) == to:
            raise RegistryError(f"{self.describe()}: version {to} is already {alias}")
        self._move(alias, to)
        return self.get(to)

    def _move(self, alias: str, number: int) -> None:
        current = self.aliases().get(alias)
        if current == number:
            return
        moved = [alias]
        if alias == "production" and current is not None:
            self.client.set_registered_model_alias(self.name, "previous", str(current))
            moved.append("previous")
        self.client.set_registered_model_alias(self.name, alias, str(number))
        # The history is written after the move: a crash between the two leaves the alias set
        # (so held) and only its record missing until the next move.
        held = sorted(set(_history(self._registered_model(), self.describe())) | set(moved))
        self.client.set_registered_model_tag(self.name, HISTORY_TAG, json.dumps(held))

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
            "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }
        mv = self.client.create_model_version(self.name, source=f"runs:/{run.info.run_id}/mlgate",
                                              run_id=run.info.run_id, tags={TAG + k: v for k, v in tags.items()})
        return self._version(self.client.get_model_version(self.name, mv.version))


def _history(model, describe: str) -> list[str]:
    try:
        names = json.loads((model.tags or {}).get(HISTORY_TAG, "[]"))
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RegistryError(f"{describe}: its {HISTORY_TAG} tag is not a JSON list of alias names")
    return names
