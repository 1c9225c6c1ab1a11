"""Resolve what is compared: the candidate (a file, a predictions file or a train command's
output), production (a file or a registry version), and the labels both are judged on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config.spec import Policy
from ..errors import ConfigError, InputError, ModelError
from ..holdout.read import table_format
from ..holdout.survey import Survey
from ..metrics import METRICS, averages_of
from ..models.load import Model, load_model_file, load_predictions_file
from ..models.score import model_classes
from ..models.train import run_train
from ..paths import inside
from ..registry.base import Registry, UnknownAlias
from ..registry.open import open_registry
from .overrides import Overrides


def resolve_candidate(policy: Policy, workspace: Path, overrides: Overrides) -> Model:
    if overrides.candidate is not None:
        return load_any(Path(overrides.candidate), "candidate", str(overrides.candidate), policy, overrides)
    spec = policy.candidate
    if spec.predictions is not None:
        path = inside(workspace, spec.predictions, "candidate.predictions", what="predictions file")
        return load_predictions_file(path, role="candidate", label=spec.predictions)
    if spec.train is not None:
        return _train(spec.train, workspace, policy, overrides)
    path = inside(workspace, spec.path, "candidate.path", must_exist=False)
    if not path.exists():
        raise ModelError(f"{spec.path}: candidate model file not found (candidate.path)")
    return load_model_file(path, role="candidate", label=spec.path, trusted_types=policy.trusted_types,
                           trust_pickle=overrides.trust_pickle, policy_file=policy.source)


def _train(train, workspace: Path, policy: Policy, overrides: Overrides) -> Model:
    if not overrides.allow_train:
        raise ConfigError(f"candidate.train: {overrides.train_refusal}")
    output = inside(workspace, train.output, "candidate.train.output", must_exist=False)
    run_train(train.command, output, train.output, cwd=workspace, timeout_s=train.timeout_s, env=overrides.train_env)
    return load_model_file(output, role="candidate", label=train.output, trusted_types=policy.trusted_types,
                           trust_pickle=overrides.trust_pickle, policy_file=policy.source)


def candidate_only(policy: Policy, workspace: Path, overrides: Overrides | None = None) -> Path | None:
    """Build (or find) and load the candidate without reading the holdout: a build job that
    cannot read a sealed holdout still produces the artifact the judge evaluates."""
    model = resolve_candidate(policy, Path(workspace), overrides or Overrides())
    return model.path if model.estimator is not None else None


def reads_registry(policy: Policy, production: str | None) -> bool:
    """Whether production comes from the registry (not a path, a predictions file or none):
    only then is a registry opened, so one that does not exist cannot fail an evaluation that
    never reads it."""
    if production is not None:
        return not (production.lower() == "none" or _names_file(production))
    return policy.production.path is None and policy.production.predictions is None


def _names_file(ref: str) -> bool:
    return bool(Path(ref).suffix) or Path(ref).exists()


def resolve_production(policy: Policy, workspace: Path, overrides: Overrides, registry: Registry | None):
    ref = overrides.production
    spec = policy.production
    if ref is not None and ref.lower() == "none":
        return None, "production: none (by request)"
    if ref is not None and _names_file(ref):
        return load_any(Path(ref), "production", ref, policy, overrides), None
    if ref is None and spec.path is not None:
        path = inside(workspace, spec.path, "production.path", must_exist=False)
        if not path.exists():
            raise ModelError(f"{spec.path}: production model file not found (production.path)")
        return load_model_file(path, role="production", label=spec.path, trusted_types=policy.trusted_types,
                               trust_pickle=overrides.trust_pickle, policy_file=policy.source), None
    if ref is None and spec.predictions is not None:
        path = inside(workspace, spec.predictions, "production.predictions", what="predictions file")
        return load_predictions_file(path, role="production", label=spec.predictions), None
    if registry is None:
        registry = open_registry(policy, workspace)
    alias = spec.alias
    if ref is not None and ref.isdigit():
        version = registry.get(int(ref))
    else:
        alias = ref or alias
        try:
            version = registry.resolve(alias)
        except UnknownAlias as exc:  # never held: a typo, never "no production model"
            raise (InputError if ref else ConfigError)(f"{'--production' if ref else 'production.alias'}: {exc}") from None
        if version is None:
            if ref is not None:
                raise InputError(f"--production: {registry.describe()} has no version or alias {ref!r}")
            return None, f"{registry.describe()} has no version under alias {alias!r}"
    path = registry.fetch(version)
    label = f"{registry.describe()} v{version.version} ({alias})"
    model = load_model_file(path, role="production", label=label, trusted_types=policy.trusted_types,
                            trust_pickle=overrides.trust_pickle, policy_file=policy.source)
    model.extra["version"] = version.version
    return model, None


def load_any(path: Path, role: str, label: str, policy: Policy, overrides: Overrides) -> Model:
    if path.suffix.lower() in (".csv", ".parquet", ".pq", ".gz"):
        table_format(path, f"--{role}")
        return load_predictions_file(path, role=role, label=label)
    return load_model_file(path, role=role, label=label, trusted_types=policy.trusted_types,
                           trust_pickle=overrides.trust_pickle, policy_file=policy.source)


def comparison_labels(holdout: Survey, models: list[Model]) -> tuple:
    """The holdout's labels plus any the production model knows that the holdout lacks (a rare
    class). The candidate may not add labels: a class only it claims would turn the binary
    gates into macro averages over a class nobody has (a "phantom class"), so it is refused."""
    observed = [plain_label(v) for v in holdout.observed]
    seen = list(observed)
    known = {m.role: [plain_label(v) for v in model_classes(m)] for m in models if m.estimator is not None}
    for m in models:
        classes = known.get(m.role)
        if classes and not set(classes) & set(observed):
            raise ModelError(
                f"{m.source}: the {m.role} model's classes {classes[:10]} do not match the labels of "
                f"{holdout.source} column {holdout.target!r} ({observed[:10]}); was it trained on another encoding?"
            )
    for m in sorted((m for m in models if m.role in known), key=lambda m: m.role != "production"):
        classes = known[m.role]  # production's classes first: the candidate may not add any
        extra = [c for c in classes if c not in seen]
        if extra and m.role == "candidate":
            raise ModelError(
                f"{m.source}: the candidate model knows class(es) {[str(c) for c in extra][:5]} that neither the "
                f"holdout {holdout.source} nor the production model has; the comparison's labels come from those"
            )
        seen.extend(classes)
    unique = list(dict.fromkeys(seen))
    try:
        return tuple(sorted(unique))
    except TypeError:
        return tuple(sorted(unique, key=str))


def check_gates_fit(policy: Policy, task: str, labels, positive) -> None:
    for i, g in enumerate(policy.gates):
        info = METRICS[g.metric]
        if info.task not in ("any", task):
            raise ConfigError(f"gates[{i}].metric: {g.metric} is a {info.task} metric but the task is {task}")
        if task != "classification":
            continue
        averages = averages_of(g.metric)
        binary_avg = bool(averages) and (g.average or ("binary" if len(labels) == 2 else "macro")) == "binary"
        if (binary_avg or info.binary_only) and len(labels) != 2:
            others = [a for a in averages if a != "binary"]
            raise ConfigError(
                f"gates[{i}]: {g.metric}{' with average binary' if binary_avg else ''} needs two classes, "
                f"the holdout and models have {len(labels)}; set gates[{i}].average to "
                f"{', '.join(others[:-1])} or {others[-1]}"
                if binary_avg else f"gates[{i}]: {g.metric} needs two classes, found {len(labels)}"
            )
        if (binary_avg or info.binary_only) and positive is None:
            raise ConfigError(
                f"data.positive_label: {g.metric} (gates[{i}]) needs the positive label, which cannot be "
                f"inferred from the labels {list(labels)}; set data.positive_label"
            )


def check_score_sides(policy: Policy, overrides: Overrides, candidate: Model, production: Model | None) -> None:
    """A mean_score gate compares the ``example_score`` columns of two predictions files; a side
    that resolved to a model (a registry version, a path on the command line) has none.

    The policy's own model paths and train commands are refused when it is loaded; this names
    what only resolving shows: the registry's version, or a file given on the command line."""
    gate = next((i for i, g in enumerate(policy.gates) if g.metric == "mean_score"), None)
    if gate is None:
        return
    for model, key in ((candidate, "--candidate" if overrides.candidate is not None else "candidate"),
                       (production, "--production" if overrides.production is not None else "production.registry")):
        if model is not None and model.estimator is not None:
            raise ConfigError(
                f"gates[{gate}]: mean_score compares each example's score in predictions files (column "
                f"'example_score'), but the {model.role} ({key}: {model.source}) is a model file; give "
                f"{model.role}.predictions, or a predictions file on the command line")


def identity(model: Model) -> dict:
    out = {"source": model.source, "sha256": model.sha256, "kind": model.kind}
    if model.size_mb is not None:
        out["size_mb"] = round(model.size_mb, 6)
    if "version" in model.extra:
        out["version"] = model.extra["version"]
    return out


def plain_label(value):
    if isinstance(value, np.generic):
        return value.item()
    return value
