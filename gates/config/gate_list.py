"""The policy's ``gates:`` list: each gate's metric, rule and parameters, checked at load.

A gate that reads backwards (``min`` on a loss, ``max`` on a score) is refused rather than
allowed with a flag: written by mistake it approves the models it should block, and the
gate written the metric's own way (``max`` on a loss) says the same thing. A latency or size
gate on a side that is a predictions file is refused too: there is no model to time or weigh,
and the policy says so before anything runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from ..metrics import AUC_AVERAGES, COST, METRICS, Metric, averages_of
from .spec import RULES, GateSpec, ModelSpec

# What each rule requires, and what it additionally accepts.
RULE_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "min": ({"threshold"}, set()),
    "max": ({"threshold"}, set()),
    "non_inferior": ({"margin"}, set()),
    "superior": (set(), set()),
    "max_drop": ({"max_drop"}, set()),
    "max_ratio": ({"threshold"}, set()),
    "slice_max_drop": ({"max_drop"}, {"min_support"}),
}


COST_RULES = {"min", "max", "max_ratio", "max_drop"}


def parse_gates(r, value: Any, task: str | None, *, candidate: ModelSpec, production: ModelSpec) -> tuple[GateSpec, ...]:
    """``r`` is the policy's Reader; ``candidate`` and ``production`` say which side is a file of predictions."""
    if not isinstance(value, list) or not value:
        raise r.fail("gates", "a non-empty list of gates", value)
    gates = []
    names = set()
    for i, g in enumerate(value):
        where = f"gates[{i}]"
        allowed = {"metric", "rule", "name", "threshold", "margin", "max_drop", "min_support", "average",
                   "greater_is_better"}
        g = r.mapping(g, where, allowed, {"metric", "rule"})
        metric = r.choice(g["metric"], f"{where}.metric", tuple(METRICS))
        rule = r.choice(g["rule"], f"{where}.rule", RULES)
        info = METRICS[metric]
        if task is not None and info.task not in ("any", task):
            raise r.fail(f"{where}.metric", f"a {task} metric", metric)
        if info.family == COST and rule not in COST_RULES:
            raise r.fail(f"{where}.rule", f"one of {', '.join(sorted(COST_RULES))} for {metric}", rule)
        if rule == "max_ratio" and info.family != COST:
            raise r.fail(f"{where}.rule", "max_ratio only for latency_ms_per_1k or model_size_mb", rule)
        direction = _direction(r, where, g, info)
        if direction is not None:  # mean_score: the gate says which way its scores go
            info = replace(info, greater_is_better=direction)
            _check_scores_sides(r, where, candidate=candidate, production=production)
        backwards = reads_backwards(info, rule)
        if backwards and direction is not None:
            backwards += (f" (or set greater_is_better: {str(not direction).lower()} if "
                          f"{'lower' if direction else 'higher'} scores are better)")
        if backwards:
            raise ConfigError(f"{r.source}: {where}.rule: {backwards}")
        if info.family == COST:
            _check_measurable(r, where, metric, rule, candidate=candidate, production=production)
        required, optional = RULE_KEYS[rule]
        for key in required:
            if g.get(key) is None:
                raise r.fail(f"{where}.{key}", f"a value (rule {rule} needs it)")
        present = {k for k in ("threshold", "margin", "max_drop", "min_support") if k in g}
        for key in sorted(present - required - optional):
            raise r.fail(f"{where}.{key}", f"no {key} for rule {rule} (it takes {', '.join(sorted(required | optional)) or 'no parameters'})")
        threshold = margin = max_drop = None
        if "threshold" in g:
            threshold = r.number(g["threshold"], f"{where}.threshold", low=0 if rule == "max_ratio" else None, low_open=rule == "max_ratio")
        if "margin" in g:
            margin = r.number(g["margin"], f"{where}.margin", low=0)
        if "max_drop" in g:
            max_drop = r.number(g["max_drop"], f"{where}.max_drop", low=0)
        min_support = r.integer(g.get("min_support", 30), f"{where}.min_support", low=2)
        average = g.get("average")
        if average is not None:
            averaged = sorted(m for m in METRICS if averages_of(m))
            if not averages_of(metric):
                raise r.fail(f"{where}.average", f"no average for {metric} (only {', '.join(averaged)})", average)
            if metric == "roc_auc" and average not in AUC_AVERAGES:  # micro: no paired test (see metrics.py)
                raise r.fail(f"{where}.average", f"one of {', '.join(AUC_AVERAGES)} for roc_auc (one-vs-rest "
                             "AUCs averaged as scikit-learn does; a micro-averaged AUC has no paired test here)", average)
            r.choice(average, f"{where}.average", averages_of(metric))
        name = g.get("name")
        name = r.string(name, f"{where}.name") if name is not None else _default_name(metric, rule, g)
        if name in names:
            raise r.fail(f"{where}.name", "a name unique among the gates (add name: to one of them)", name)
        names.add(name)
        gates.append(
            GateSpec(metric, rule, name, threshold, margin, max_drop, min_support, average, greater_is_better=direction)
        )
    return tuple(gates)


def reads_backwards(metric: Metric, rule: str) -> str | None:
    """Why ``rule`` on ``metric`` reads backwards, or None: ``min`` asks for a floor, which only
    a higher-is-better metric has; ``max`` a ceiling, which only a lower-is-better one has."""
    name = metric.name
    if rule == "min" and not metric.greater_is_better:
        return (f"min on {name} reads backwards: {name} is lower-is-better, so min would pass only models at least "
                f"this bad; use rule: max (the highest {name} you accept)")
    if rule == "max" and metric.greater_is_better:
        return (f"max on {name} reads backwards: {name} is higher-is-better, so max would block every model better "
                f"than the threshold; use rule: min (the lowest {name} you accept)")
    return None


def _direction(r, where: str, g: dict, info: Metric) -> bool | None:
    """``greater_is_better`` of a mean_score gate (default true); other metrics' directions are
    facts of the metric (a lower log loss is better whatever a policy says), so only mean_score takes the key."""
    if info.name != "mean_score":
        if "greater_is_better" in g:
            way = "higher" if info.greater_is_better else "lower"
            raise r.fail(f"{where}.greater_is_better", f"no greater_is_better for {info.name} (only for mean_score, "
                         f"whose per-example scores may be costs; {info.name} is {way}-is-better)", g["greater_is_better"])
        return None
    return r.boolean(g.get("greater_is_better", True), f"{where}.greater_is_better")


def _check_scores_sides(r, where: str, *, candidate: ModelSpec, production: ModelSpec) -> None:
    """mean_score reads each example's score from a predictions file: a side that is a model
    file (or a train command's output) has none. A production registry may still be empty
    (a first model); a version in it is refused when the evaluation resolves it."""
    for key, value in (("candidate.path", candidate.path), ("candidate.train", candidate.train),
                       ("production.path", production.path)):
        if value is not None:
            side = key.split(".")[0]
            raise ConfigError(
                f"{r.source}: {where}.metric: mean_score compares each example's score in predictions files (column "
                f"'example_score'), but {key} gives a model, not a predictions file; give {side}.predictions")


def _check_measurable(r, where: str, metric: str, rule: str, *, candidate: ModelSpec, production: ModelSpec) -> None:
    """Latency and size need the artifact: the candidate's always, production's for a comparison."""
    sides = [("candidate", candidate)] + ([("production", production)] if rule in ("max_ratio", "max_drop") else [])
    for side, spec in sides:
        if spec.predictions is not None:
            raise ConfigError(
                f"{r.source}: {where}.metric: {metric} needs a model to time or weigh, but {side}.predictions is a "
                f"predictions file; remove the gate or give {side}.path"
            )


def _default_name(metric: str, rule: str, g: dict) -> str:
    avg = f"[{g['average']}]" if g.get("average") else ""
    return f"{metric}{avg} {rule}"
