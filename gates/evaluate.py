"""One evaluation: resolve the holdout and both models, score them on the same rows, decide.

This is the engine every caller uses — the terminal, the GitHub action, the demo — so it
takes plain data (a policy, a workspace, explicit overrides) and returns a ``Result``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .config import Policy
from .curves import summarize as summarize_curves
from .data import Holdout, resolve_positive_label, table_format
from .engine import DEFAULT_CHUNK_ROWS, Survey, survey
from .decision import decide
from .errors import ConfigError, DataError, InputError, ModelError
from .evidence import loss_metrics_of
from .metrics import AVERAGED, METRICS
from .models import Model, load_model_file, load_predictions_file, measure_latency, model_classes
from .paths import inside
from .registry import FileRegistry, Registry, UnknownAlias
from .result import Result
from .rules import StatSettings, evaluate_gate
from .train import run_train

Progress = Callable[[str], None]
VerifyOverride = Callable[[str], "dict | None"]


@dataclass
class Overrides:
    """Trusted paths given on the command line or as workflow inputs (not from the policy)."""

    candidate: Path | None = None
    production: str | None = None  # "none", a registry version or alias, or a path
    data: Path | None = None
    trust_pickle: bool = False
    allow_train: bool = True  # False under privileged triggers: never run PR code there
    train_refusal: str = "train commands never run in a privileged job; evaluate the uploaded artifact"
    # The environment a train command runs with (None: inherit). The action passes one without
    # its token, so PR code run for training can never act as the bot.
    train_env: dict | None = None
    engine: str | None = None  # local | dask (None: the policy's engine.kind)
    scheduler: str | None = None  # Dask scheduler address (None: the policy's engine.scheduler)
    chunk_rows: int | None = None  # stream the holdout in chunks (None: the policy's engine.chunk_rows)
    # Where ``${VAR}`` in the policy's holdout headers and key are looked up (a sealed holdout's
    # credential). The edge passes the process environment; ``gates`` never reads it itself.
    env: dict | None = None

    def with_candidate(self, path: Path) -> "Overrides":
        return dataclasses.replace(self, candidate=path)


def evaluate(policy: Policy, workspace: Path, overrides: Overrides | None = None, *,
             policy_source: str = "local", progress: Progress | None = None,
             registry: Registry | None = None, blockers: tuple[str, ...] = (), notes: tuple[str, ...] = (),
             commit: str | None = None, verify_override: VerifyOverride | None = None) -> Result:
    """Score both models on the holdout and apply the policy's gates.

    What only the caller knows goes in, so the ``Result`` is built once: ``blockers`` (reasons
    to block found outside the gates, e.g. the PR edits the holdout), ``notes`` shown before
    the evaluation's own, the ``commit`` evaluated, and ``verify_override``, called with the
    candidate's SHA-256 once it is known, returning the verified override record or None.
    """
    try:
        return _evaluate(policy, workspace, overrides, policy_source=policy_source, progress=progress,
                         registry=registry, blockers=blockers, notes=tuple(notes), commit=commit,
                         verify_override=verify_override)
    except (ModelError, DataError) as exc:
        if _sealed(policy, overrides) and not isinstance(exc, ConfigError):
            # A model's failure names rows and values of the holdout; a sealed holdout's rows are
            # exactly what a candidate must not learn, so the message stops at what failed.
            raise type(exc)(f"{str(exc).split(':', 1)[0]}: failed on the sealed holdout (details withheld: they "
                            "would reveal its rows; evaluate locally on a holdout you may read)") from None
        raise
    except ConfigError as exc:
        # Problems found while applying the policy name its file too, like those found parsing it.
        if policy.source and not str(exc).startswith(policy.source):
            raise ConfigError(f"{policy.source}: {exc}") from None
        raise


def _sealed(policy: Policy, overrides: Overrides | None) -> bool:
    from .config import VARIABLE

    if overrides is not None and overrides.data is not None:
        return False
    return bool(policy.data.key_env) or any(VARIABLE.search(text) for _, text in policy.data.headers)


def _evaluate(policy: Policy, workspace: Path, overrides: Overrides | None, *, policy_source: str,
              progress: Progress | None, registry: Registry | None, blockers: tuple[str, ...],
              notes: tuple[str, ...], commit: str | None, verify_override: VerifyOverride | None) -> Result:
    overrides = overrides or Overrides()
    say = progress or (lambda _msg: None)
    workspace = Path(workspace)

    say("checking holdout")
    engine, scheduler, chunk_rows = _engine(policy, overrides)
    # One path for every size: a survey pass checks the holdout, then both models score it in
    # chunks (one chunk when it is small) and each chunk is reduced to mergeable evidence.
    where = _locate(policy, workspace, overrides)
    try:
        return _judge(policy, workspace, overrides, where, engine=engine, scheduler=scheduler,
                      chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS, policy_source=policy_source, say=say,
                      registry=registry, blockers=blockers, notes=notes, commit=commit,
                      verify_override=verify_override)
    finally:
        where.discard()


def _judge(policy: Policy, workspace: Path, overrides: Overrides, where, *, engine: str, scheduler: str | None,
           chunk_rows: int, policy_source: str, say: Progress, registry: Registry | None,
           blockers: tuple[str, ...], notes: tuple[str, ...], commit: str | None,
           verify_override: VerifyOverride | None) -> Result:
    # A private copy (a sealed holdout's plaintext) is held in memory and removed before any
    # train command runs; Dask workers read the file, so it stays until the evaluation ends.
    holdout = _survey(policy, overrides, where, chunk_rows=chunk_rows, hold=where.private and engine == "local")
    if holdout.held is not None:
        where.discard()
    sealed = where.sealed
    say(f"checked {holdout.rows} rows of {holdout.source}")
    # Everything the gate compares against is read before the candidate, which a train command
    # may produce: PR code must find production already loaded and the holdout already hashed.
    production, registry_note = _production(policy, workspace, overrides, registry)
    candidate = _candidate(policy, workspace, overrides)
    has_production = production is not None
    if policy.candidate.train is not None and overrides.candidate is None and holdout.held is None:
        _check_unchanged(holdout)  # the holdout is read again while scoring

    labels = positive = pos_index = None
    if holdout.task == "classification":
        labels = _labels(holdout, [m for m in (candidate, production) if m is not None])
        positive = resolve_positive_label(labels, policy.data.positive_label)
        pos_index = labels.index(positive) if positive is not None else None
    _check_gates_fit(policy, holdout.task, labels, positive)

    metrics = {g.metric for g in policy.gates}
    want_proba = any(METRICS[m].needs_scores for m in metrics)
    exclude = {holdout.target} | ({policy.data.id_column} if policy.data.id_column else set())
    kwargs = dict(labels=labels, positive_label=positive, id_column=policy.data.id_column, exclude=exclude, want_proba=want_proba)
    overall, slices, costs, note = _scored(
        policy, holdout, candidate, production, kwargs, pos_index, engine=engine, scheduler=scheduler,
        chunk_rows=chunk_rows, configured=bool(overrides.chunk_rows or policy.chunk_rows), overrides=overrides, say=say)

    settings = StatSettings(
        alpha=policy.alpha, power=policy.power, resamples=policy.resamples, seed=policy.seed, positive_label=positive,
        average_default="binary" if labels is not None and len(labels) == 2 else "macro",
    )
    say("testing gates")
    results = [evaluate_gate(g, overall, slices, costs, settings, has_production=has_production) for g in policy.gates]
    decision = decide(results, has_production=has_production, blockers=blockers)
    identity = _identity(candidate)
    notes = (*notes, *([registry_note] if registry_note else []), *([note] if note else []))
    return Result(
        decision=decision, gates=tuple(results), task=holdout.task,
        labels=None if labels is None else tuple(_plain_label(v) for v in labels),
        positive_label=_plain_label(positive), alpha=policy.alpha,
        candidate=identity, production=_identity(production) if has_production else None,
        data={"source": holdout.source, "sha256": holdout.sha256, "rows": holdout.rows, "sealed": sealed},
        config_sha256=policy.sha256, policy_source=policy_source, notes=notes, engine=engine, commit=commit,
        overridden=verify_override(identity["sha256"]) if verify_override is not None else None,
        curves=summarize_curves(overall.positive, overall.score_candidate,
                                overall.score_production if has_production else None, overall.score_bins),
        candidate_file=candidate.path if candidate.estimator is not None else None,
    )


# ----------------------------------------------------------------------------- resolution


def _locate(policy: Policy, workspace: Path, overrides: Overrides):
    from .holdout_source import locate_holdout

    return locate_holdout(policy, workspace, data_override=overrides.data, env=overrides.env,
                          cache_dir=Path(workspace) / ".mlgate-cache")


def _survey(policy: Policy, overrides: Overrides, where, *, chunk_rows: int, hold: bool) -> Survey:
    holdout = survey(where.path, policy.data, task=policy.task, label=where.label, chunk_rows=chunk_rows, hold=hold)
    if policy.data.sha256 and overrides.data is None and holdout.sha256 != policy.data.sha256:
        raise ConfigError(
            f"data.sha256: {where.label} has SHA-256 {holdout.sha256}, the policy pins {policy.data.sha256}"
        )
    return holdout


def _candidate(policy: Policy, workspace: Path, overrides: Overrides) -> Model:
    if overrides.candidate is not None:
        return _load_any(Path(overrides.candidate), "candidate", str(overrides.candidate), policy, overrides)
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
                           trust_pickle=overrides.trust_pickle)


def _train(train, workspace: Path, policy: Policy, overrides: Overrides) -> Model:
    if not overrides.allow_train:
        raise ConfigError(f"candidate.train: {overrides.train_refusal}")
    output = inside(workspace, train.output, "candidate.train.output", must_exist=False)
    run_train(train.command, output, train.output, cwd=workspace, timeout_s=train.timeout_s, env=overrides.train_env)
    return load_model_file(output, role="candidate", label=train.output, trusted_types=policy.trusted_types,
                           trust_pickle=overrides.trust_pickle)


def candidate_only(policy: Policy, workspace: Path, overrides: Overrides | None = None) -> Path | None:
    """Build (or find) and load the candidate without reading the holdout: a build job that
    cannot read a sealed holdout still produces the artifact the judge evaluates."""
    model = _candidate(policy, Path(workspace), overrides or Overrides())
    return model.path if model.estimator is not None else None


def _check_unchanged(survey: Survey) -> None:
    """The train command ran after the holdout was surveyed: the file must still be that file."""
    from .paths import sha256_file

    if sha256_file(survey.path) != survey.sha256:
        raise DataError(f"{survey.source}: the holdout changed while the train command ran; "
                        "the train command must not write the holdout")


def _production(policy: Policy, workspace: Path, overrides: Overrides, registry: Registry | None):
    ref = overrides.production
    spec = policy.production
    if ref is not None and ref.lower() == "none":
        return None, "production: none (by request)"
    if ref is not None and (Path(ref).suffix or Path(ref).exists()):
        return _load_any(Path(ref), "production", ref, policy, overrides), None
    if ref is None and spec.path is not None:
        path = inside(workspace, spec.path, "production.path", must_exist=False)
        if not path.exists():
            raise ModelError(f"{spec.path}: production model file not found (production.path)")
        return load_model_file(path, role="production", label=spec.path, trusted_types=policy.trusted_types,
                               trust_pickle=overrides.trust_pickle), None
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
                            trust_pickle=overrides.trust_pickle)
    model.extra["version"] = version.version
    return model, None


def open_registry(policy: Policy, workspace: Path) -> FileRegistry:
    spec = policy.production.registry
    if spec is None or spec.kind == "file":
        rel = spec.path if spec is not None else "models/registry"
        root = inside(workspace, rel, "production.registry", must_exist=False)
        return FileRegistry(root, label=rel)
    raise ConfigError(f"production.registry.kind: {spec.kind!r} is not available in this build yet; use a file registry path")


def _load_any(path: Path, role: str, label: str, policy: Policy, overrides: Overrides) -> Model:
    if path.suffix.lower() in (".csv", ".parquet", ".pq", ".gz"):
        table_format(path, f"--{role}")
        return load_predictions_file(path, role=role, label=label)
    return load_model_file(path, role=role, label=label, trusted_types=policy.trusted_types, trust_pickle=overrides.trust_pickle)


def _labels(holdout: Survey, models: list[Model]) -> tuple:
    """The holdout's labels plus any the production model knows that the holdout lacks (a rare
    class). The candidate may not add labels: a class only it claims would turn the binary
    gates into macro averages over a class nobody has (a "phantom class"), so it is refused."""
    observed = [_plain_label(v) for v in holdout.observed]
    seen = list(observed)
    known = {m.role: [_plain_label(v) for v in model_classes(m)] for m in models if m.estimator is not None}
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


def _check_gates_fit(policy: Policy, task: str, labels, positive) -> None:
    for i, g in enumerate(policy.gates):
        info = METRICS[g.metric]
        if info.task not in ("any", task):
            raise ConfigError(f"gates[{i}].metric: {g.metric} is a {info.task} metric but the task is {task}")
        if task != "classification":
            continue
        binary_avg = g.metric in AVERAGED and (g.average or ("binary" if len(labels) == 2 else "macro")) == "binary"
        if (binary_avg or info.binary_only) and len(labels) != 2:
            raise ConfigError(
                f"gates[{i}]: {g.metric}{' with average binary' if binary_avg else ''} needs two classes, "
                f"the holdout and models have {len(labels)}; set gates[{i}].average to macro, micro or weighted"
                if binary_avg else f"gates[{i}]: {g.metric} needs two classes, found {len(labels)}"
            )
        if (binary_avg or info.binary_only) and positive is None:
            raise ConfigError(
                f"data.positive_label: {g.metric} (gates[{i}]) needs the positive label, which cannot be "
                f"inferred from the labels {list(labels)}; set data.positive_label"
            )


def _needs_slices(policy: Policy) -> bool:
    needed = any(g.rule == "slice_max_drop" for g in policy.gates)
    if needed and not policy.data.slices:
        raise ConfigError("data.slices: the slice_max_drop gate needs at least one slice column")
    return needed


def _engine(policy: Policy, overrides: Overrides) -> tuple[str, str | None, int | None]:
    engine = overrides.engine or policy.engine
    scheduler = overrides.scheduler or policy.scheduler
    chunk_rows = overrides.chunk_rows or policy.chunk_rows
    if engine == "dask" and not scheduler:
        raise ConfigError("engine.scheduler: the Dask engine needs a scheduler address (engine.scheduler or --scheduler)")
    return engine, scheduler, chunk_rows


def _scored(policy: Policy, survey: Survey, candidate: Model, production: Model | None, kwargs: dict, pos_index,
            *, engine: str, scheduler: str | None, chunk_rows: int, configured: bool, overrides: Overrides,
            say: Progress):
    """Evidence and costs, from local chunks or Dask partitions.

    A holdout of up to ``ROW_EXTRAS_MAX_ROWS`` rows keeps its per-row extras (float64 scores,
    exact curves, loss differences for the reported row tests); a larger one keeps only what
    the deciding statistics need.
    """
    from .engine import ROW_EXTRAS_MAX_ROWS, Plan, fixed_scores, sample_holdout, stream_local

    small = survey.rows <= ROW_EXTRAS_MAX_ROWS
    needs_slices = _needs_slices(policy)
    plan = Plan(
        source=survey.source, target=survey.target, task=survey.task, labels=kwargs["labels"],
        positive_label=kwargs["positive_label"], pos_index=pos_index, id_column=policy.data.id_column,
        slices=tuple(policy.data.slices) if needs_slices else (), exclude=frozenset(kwargs["exclude"]),
        want_proba=kwargs["want_proba"], loss_metrics=frozenset(loss_metrics_of({g.metric for g in policy.gates})),
        y_center=survey.first_target,
        slice_scores=any(g.rule == "slice_max_drop" and METRICS[g.metric].needs_scores for g in policy.gates),
        keep_rows=small, score_dtype=None if small else "float32", bin_scores=not small,
    )
    fixed = {m.role: fixed_scores(m, survey, plan) for m in (candidate, production) if m is not None and m.estimator is None}
    if engine == "dask":
        from .engine_dask import stream_dask

        streamed = stream_dask(survey, plan, candidate, production, scheduler=scheduler, chunk_rows=chunk_rows,
                               fixed=fixed, trusted_types=policy.trusted_types, trust_pickle=overrides.trust_pickle,
                               progress=say)
        note = f"engine: dask at {scheduler}"
    else:
        say(f"scoring both models in chunks of {chunk_rows} rows" if survey.rows > chunk_rows else "scoring both models")
        streamed = stream_local(survey, plan, candidate, production, chunk_rows=chunk_rows, fixed=fixed)
        note = f"engine: local, streamed in chunks of {chunk_rows} rows" if configured or not small else None
    costs = _costs(policy, candidate, production, sample_holdout(survey, streamed.sample), kwargs["exclude"])
    if note and not small:
        note += f" (per-row Wilcoxon and bootstrap of losses kept only up to {ROW_EXTRAS_MAX_ROWS:,} rows)"
    return streamed.overall, streamed.slices, costs, note


def _costs(policy: Policy, candidate: Model, production: Model | None, holdout: Holdout, exclude) -> dict:
    costs = {"model_size_mb": (candidate.size_mb, production.size_mb if production else None)}
    if any(g.metric == "latency_ms_per_1k" for g in policy.gates):
        models = [candidate] + ([production] if production else [])
        times = measure_latency(models, holdout, exclude)
        costs["latency_ms_per_1k"] = (times[0], times[1] if production else None)
    return costs


def _identity(model: Model) -> dict:
    out = {"source": model.source, "sha256": model.sha256, "kind": model.kind}
    if model.size_mb is not None:
        out["size_mb"] = round(model.size_mb, 6)
    if "version" in model.extra:
        out["version"] = model.extra["version"]
    return out


def _plain_label(value):
    if isinstance(value, np.generic):
        return value.item()
    return value

