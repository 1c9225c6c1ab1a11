"""Evaluate: the story a newcomer reads first.

Locate the holdout and check it (one survey pass); load production, then the candidate (a
train command may produce it, so everything it is compared against is read first); settle
the labels; score both models in chunks and reduce each chunk to mergeable evidence; apply
every gate; decide. The Result is built once, with what the caller knows passed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..attempts import attempt_note, attempt_record, reuse_note, reuse_record
from ..config.spec import Policy
from ..classes import summarize_classes
from ..curves import summarize as summarize_curves
from ..decision import decide
from ..errors import ConfigError, DataError, ModelError
from ..evidence import loss_metrics_of
from ..holdout.read import Holdout, resolve_positive_label
from ..holdout.read_chunks import read_columns
from ..holdout.survey import Survey, survey
from ..mean_score import MEAN_SCORE
from ..metrics import METRICS
from ..models.columns import Columns
from ..models.latency import measure_latency
from ..models.load import Model
from ..registry.base import Registry
from ..registry.open import open_registry
from ..residuals import summarize_residuals
from ..result import Result
from ..rules import StatSettings, evaluate_gate
from .blocked import blocked_before_reading
from .chunks import default_chunk_rows
from .overrides import Overrides
from .resolve import (
    check_gates_fit,
    check_score_sides,
    comparison_labels,
    identity,
    plain_label,
    reads_registry,
    resolve_candidate,
    resolve_production,
)

Progress = Callable[[str], None]


VerifyOverride = Callable[[str], "dict | None"]
AttemptOf = Callable[[str], int]




def evaluate(policy: Policy, workspace: Path, overrides: Overrides | None = None, *,
             policy_source: str = "local", progress: Progress | None = None,
             registry: Registry | None = None, blockers: tuple[str, ...] = (), notes: tuple[str, ...] = (),
             commit: str | None = None, verify_override: VerifyOverride | None = None,
             attempt_of: AttemptOf | None = None) -> Result:
    """Score both models on the holdout and apply the policy's gates.

    What only the caller knows goes in, so the ``Result`` is built once: ``blockers`` (reasons
    to block found outside the gates, e.g. the PR edits the holdout), ``notes`` shown before
    the evaluation's own, the ``commit`` evaluated, and ``verify_override``, called with the
    candidate's SHA-256 once it is known, returning the verified override record or None;
    ``attempt_of``, called with it too, gives which distinct candidate on the pull request this
    is (1, 2, …), for the attempts' luck and, with ``stats.attempts.spend``, the level tested.
    """
    try:
        return _evaluate(policy, workspace, overrides, policy_source=policy_source, progress=progress,
                         registry=registry, blockers=blockers, notes=tuple(notes), commit=commit,
                         verify_override=verify_override, attempt_of=attempt_of)
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
    from ..config.spec import VARIABLE

    if overrides is not None and overrides.data is not None:
        return False
    return bool(policy.data.key_env) or any(VARIABLE.search(text) for _, text in policy.data.headers)


def _evaluate(policy: Policy, workspace: Path, overrides: Overrides | None, *, policy_source: str,
              progress: Progress | None, registry: Registry | None, blockers: tuple[str, ...],
              notes: tuple[str, ...], commit: str | None, verify_override: VerifyOverride | None,
              attempt_of: AttemptOf | None) -> Result:
    overrides = overrides or Overrides()
    say = progress or (lambda _msg: None)
    workspace = Path(workspace)
    blocked = blocked_before_reading(policy, workspace, overrides, blockers=blockers, registry=registry,
                                     policy_source=policy_source, notes=notes, commit=commit,
                                     verify_override=verify_override)
    if blocked is not None:  # the trust check blocks: the holdout is not read at all
        return blocked

    say("checking holdout")
    engine, scheduler, chunk_rows = _engine(policy, overrides)
    # One path for every size: a survey pass checks the holdout, then both models score it in
    # chunks (one chunk when it is small) and each chunk is reduced to mergeable evidence.
    where = _locate(policy, workspace, overrides)
    try:
        if chunk_rows is None:
            chunk_rows = default_chunk_rows(len(read_columns(where.path, where.label)))
        return _judge(policy, workspace, overrides, where, engine=engine, scheduler=scheduler,
                      chunk_rows=chunk_rows, policy_source=policy_source, say=say,
                      registry=registry, blockers=blockers, notes=notes, commit=commit,
                      verify_override=verify_override, attempt_of=attempt_of)
    finally:
        where.discard()


def _judge(policy: Policy, workspace: Path, overrides: Overrides, where, *, engine: str, scheduler: str | None,
           chunk_rows: int, policy_source: str, say: Progress, registry: Registry | None,
           blockers: tuple[str, ...], notes: tuple[str, ...], commit: str | None,
           verify_override: VerifyOverride | None, attempt_of: AttemptOf | None) -> Result:
    # A private copy (a sealed holdout's plaintext) is held in memory and removed before any
    # train command runs; Dask workers read the file, so it stays until the evaluation ends.
    holdout = _survey(policy, overrides, where, chunk_rows=chunk_rows, hold=where.private and engine == "local")
    if holdout.held is not None:
        where.discard()
    sealed = where.sealed
    say(f"checked {holdout.rows} rows of {holdout.source}")
    # Everything the gate compares against is read before the candidate, which a train command
    # may produce: PR code must find production already loaded and the holdout already hashed.
    production, registry_note = resolve_production(policy, workspace, overrides, registry)
    decided = _decided_by(policy, workspace, overrides, registry, holdout)
    candidate = resolve_candidate(policy, workspace, overrides)
    check_score_sides(policy, overrides, candidate, production)
    has_production = production is not None
    attempt = None if attempt_of is None else attempt_record(policy.alpha, max(1, int(attempt_of(candidate.sha256))),
                                                             spend=policy.spend_attempts)
    alpha = policy.alpha if attempt is None else attempt["alpha"]
    if policy.candidate.train is not None and overrides.candidate is None and holdout.held is None:
        _check_unchanged(holdout)  # the holdout is read again while scoring

    labels = positive = pos_index = None
    if holdout.task == "classification":
        labels = comparison_labels(holdout, [m for m in (candidate, production) if m is not None])
        positive = resolve_positive_label(labels, policy.data.positive_label)
        pos_index = labels.index(positive) if positive is not None else None
    check_gates_fit(policy, holdout.task, labels, positive)

    metrics = {g.metric for g in policy.gates}
    want_proba = any(METRICS[m].needs_scores for m in metrics)
    # The group column may be a feature (a store, a hospital), as slice columns may, when a model
    # names it; only the label and the row id are never given to a model.
    exclude = Columns(
        held_out=frozenset({holdout.target} | ({policy.data.id_column} if policy.data.id_column else set())),
        bookkeeping=frozenset(policy.data.slices) | ({policy.data.group_column} if policy.data.group_column else set()),
        features=policy.data.features)
    kwargs = dict(labels=labels, positive_label=positive, id_column=policy.data.id_column, exclude=exclude, want_proba=want_proba)
    overall, slices, costs, note = _scored(
        policy, holdout, candidate, production, kwargs, pos_index, engine=engine, scheduler=scheduler,
        chunk_rows=chunk_rows, configured=bool(overrides.chunk_rows or policy.chunk_rows), overrides=overrides, say=say)

    settings = StatSettings(
        alpha=alpha, power=policy.power, resamples=policy.resamples, seed=policy.seed, positive_label=positive,
        average_default="binary" if labels is not None and len(labels) == 2 else "macro",
    )
    say("testing gates")
    results = [evaluate_gate(g, overall, slices, costs, settings, has_production=has_production) for g in policy.gates]
    decision = decide(results, has_production=has_production, blockers=blockers)
    candidate_identity = identity(candidate)
    groups = _groups(policy.data.group_column, overall, results)
    # The reuse bound counts independent units: groups when rows are grouped.
    reuse = None if decided is None else reuse_record(decided, groups["count"] if groups else holdout.rows)
    notes = (*notes, *holdout.notes, *([registry_note] if registry_note else []), *([note] if note else []),
             *([_groups_note(groups)] if groups else []),
             *([text] if attempt and (text := attempt_note(attempt, policy.alpha)) else []),
             *([text] if reuse and (text := reuse_note(reuse)) else []))
    return Result(
        decision=decision, gates=tuple(results), task=holdout.task,
        labels=None if labels is None else tuple(plain_label(v) for v in labels),
        positive_label=plain_label(positive), alpha=alpha, attempt=attempt,
        candidate=candidate_identity, production=identity(production) if has_production else None,
        data={"source": holdout.source, "sha256": holdout.sha256, "rows": holdout.rows, "sealed": sealed,
              # Read and scored in more than one chunk (or by Dask partitions): never whole in memory.
              "streamed": engine == "dask" or holdout.rows > chunk_rows},
        resamples=policy.resamples,
        classes=summarize_classes(overall.cells, has_production=has_production),
        residuals=summarize_residuals(overall.residuals, has_production=has_production, rows_shown=not sealed),
        config_sha256=policy.sha256, policy_source=policy_source, notes=notes, engine=engine, commit=commit,
        overridden=verify_override(candidate_identity["sha256"]) if verify_override is not None else None,
        curves=summarize_curves(overall.positive, overall.score_candidate,
                                overall.score_production if has_production else None, overall.score_bins),
        candidate_file=candidate.path if candidate.estimator is not None else None, groups=groups,
        holdout_reuse=reuse,
    )


def _decided_by(policy: Policy, workspace: Path, overrides: Overrides, registry: Registry | None,
                holdout: Survey) -> list[int] | None:
    """The registry versions whose promotion this very holdout (by SHA-256) decided; None when
    production is not read from a registry."""
    if not reads_registry(policy, overrides.production):
        return None
    if registry is None:
        registry = open_registry(policy, workspace)
    return [v.version for v in registry.versions() if v.holdout_sha256 == holdout.sha256]


def _groups(column: str | None, overall, results) -> dict | None:
    """The holdout's groups for result.json: how many, their mean size, and the largest design
    effect (smallest effective number of rows) among the gates that compared the models."""
    if column is None:
        return None
    found = overall.group_cells if overall.group_cells is not None else next(iter(overall.group_sums.values()), None)
    if found is None:
        return None
    count = int(found.groups)
    effects = [g.groups for g in results if g.groups and g.groups.get("design_effect") is not None]
    worst = max(effects, key=lambda g: g["design_effect"], default=None)
    return {"column": column, "count": count, "rows_per_group": overall.n / count if count else None,
            "design_effect": worst["design_effect"] if worst else None,
            "effective_n": worst["effective_n"] if worst else None}


def _groups_note(groups: dict) -> str:
    text = (f"Rows are grouped by {groups['column']}: {groups['count']:,} groups of {groups['rows_per_group']:.3g} "
            "rows on average, and every comparison treats the group as the independent unit")
    if groups["design_effect"] is not None:
        text += (f" (design effect up to {groups['design_effect']:.3g}: the holdout carries the information of "
                 f"about {groups['effective_n']:,.0f} independent rows)")
    text += "."
    if groups["count"] < 30:
        text += (f" Only {groups['count']} groups: intervals that rest on fewer than 30 independent units are "
                 "approximate; a holdout with more groups would settle more.")
    return text


def _locate(policy: Policy, workspace: Path, overrides: Overrides):
    from ..holdout.source import locate_holdout

    return locate_holdout(policy, workspace, data_override=overrides.data or None, env=overrides.env)


def _survey(policy: Policy, overrides: Overrides, where, *, chunk_rows: int, hold: bool) -> Survey:
    holdout = survey(where.path, policy.data, task=policy.task, label=where.label, chunk_rows=chunk_rows, hold=hold)
    if policy.data.sha256 and overrides.data is None and holdout.sha256 != policy.data.sha256:
        raise ConfigError(
            f"data.sha256: {where.label} has SHA-256 {holdout.sha256}, the policy pins {policy.data.sha256}"
        )
    return holdout


def _check_unchanged(survey: Survey) -> None:
    """The train command ran after the holdout was surveyed: the file must still be that file."""
    from ..paths import sha256_file

    if sha256_file(survey.path) != survey.sha256:
        raise DataError(f"{survey.source}: the holdout changed while the train command ran; "
                        "the train command must not write the holdout")


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
    from .chunks import ROW_EXTRAS_MAX_ROWS, Plan, fixed_scores, sample_holdout
    from .local import stream_local

    small = survey.rows <= ROW_EXTRAS_MAX_ROWS
    needs_slices = _needs_slices(policy)
    plan = Plan(
        source=survey.source, target=survey.target, task=survey.task, labels=kwargs["labels"],
        positive_label=kwargs["positive_label"], pos_index=pos_index, id_column=policy.data.id_column,
        group_column=policy.data.group_column,
        slices=tuple(policy.data.slices) if needs_slices else (), exclude=kwargs["exclude"],
        want_proba=kwargs["want_proba"], loss_metrics=frozenset(loss_metrics_of({g.metric for g in policy.gates})),
        y_center=survey.first_target,
        slice_scores=any(g.rule == "slice_max_drop" and METRICS[g.metric].needs_scores for g in policy.gates),
        keep_rows=small, score_dtype=None if small else "float32", bin_scores=not small,
        class_scores=_one_vs_rest(policy, kwargs["labels"]),
        want_predictions=any(g.metric != MEAN_SCORE for g in policy.gates),
    )
    fixed = {m.role: fixed_scores(m, survey, plan) for m in (candidate, production) if m is not None and m.estimator is None}
    if engine == "dask":
        from .dask import stream_dask

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


def _one_vs_rest(policy: Policy, labels) -> bool:
    """A roc_auc gate averaging one-vs-rest AUCs (macro, the default beyond two classes, or
    weighted) needs each row's class and both probability matrices."""
    default = "binary" if labels is not None and len(labels) == 2 else "macro"
    return labels is not None and any(g.metric == "roc_auc" and (g.average or default) != "binary"
                                      for g in policy.gates)


def _costs(policy: Policy, candidate: Model, production: Model | None, holdout: Holdout, exclude) -> dict:
    costs = {"model_size_mb": (candidate.size_mb, production.size_mb if production else None)}
    if any(g.metric == "latency_ms_per_1k" for g in policy.gates):
        models = [candidate] + ([production] if production else [])
        times = measure_latency(models, holdout, exclude)
        costs["latency_ms_per_1k"] = (times[0], times[1] if production else None)
    return costs
