"""The policy's ``canary:`` section: the live-traffic judge after a canary promotion.

Parsed beside the rest of the policy and held to the same rules: unknown keys are errors, and
every error names the file and the key path.
"""

from __future__ import annotations

import re
from typing import Any

from ..metrics import METRICS, ROW_METRICS
from .spec import (
    CANARY_RULES,
    VARIABLE,
    CanaryColumns,
    CanaryGate,
    CanarySpec,
    LogSource,
)




def parse_canary(r, value: Any, *, task: str | None, prefixed) -> CanarySpec | None:
    """``r`` is the policy's Reader; ``prefixed`` checks that a ``${NAME}`` is an MLGATE_ one."""
    if value is None:
        return None
    c = r.mapping(value, "canary", {"log", "labels", "columns", "mode", "candidate", "gates", "guardrails", "min_rows",
                                    "max_rows", "max_days", "on_expired", "tuning_rows", "classes"}, {"log", "gates"})
    log = parse_source(r, c["log"], "canary.log", prefixed)
    labels = parse_source(r, c["labels"], "canary.labels", prefixed) if c.get("labels") is not None else None
    cols = r.mapping(c.get("columns") or {}, "canary.columns", set(CanaryColumns.__dataclass_fields__))
    columns = CanaryColumns(**{k: r.string(v, f"canary.columns.{k}") for k, v in cols.items()})
    names = [getattr(columns, k) for k in CanaryColumns.__dataclass_fields__]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise r.fail("canary.columns", "a different column for each role", dup)
    mode = r.choice(c.get("mode", "shadow"), "canary.mode", ("shadow", "split"))
    candidate = c.get("candidate", "canary")
    if isinstance(candidate, bool) or not isinstance(candidate, (str, int)) or (isinstance(candidate, int) and candidate < 1):
        raise r.fail("canary.candidate", "a registry alias or a version number ≥ 1", candidate)
    if isinstance(candidate, str):
        candidate = r.string(candidate, "canary.candidate")
        if candidate.isdigit():
            candidate = int(candidate)
    gates = _gates(r, c["gates"], task)
    guard = r.mapping(c.get("guardrails") or {}, "canary.guardrails", {"disagreement", "coverage"})
    coverage = guard.get("coverage")
    if coverage is not None:
        coverage = r.number(coverage, "canary.guardrails.coverage", low=0, high=1, low_open=True)
        if mode != "shadow":
            raise r.fail("canary.guardrails.coverage", "no coverage guardrail in split mode (each request is "
                                                      "served by one model)")
    disagreement = guard.get("disagreement")
    if disagreement is not None:
        disagreement = r.number(disagreement, "canary.guardrails.disagreement", low=0, high=1, low_open=True, high_open=True)
        if mode != "shadow":
            raise r.fail("canary.guardrails.disagreement", "no disagreement guardrail in split mode (each request "
                                                          "is scored by one model, so nothing can disagree)")
    if disagreement is not None and METRICS[gates[0].metric].task == "regression":
        raise r.fail("canary.guardrails.disagreement", "no disagreement guardrail for regression (two regressors "
                                                      "almost never predict exactly the same value)")
    min_rows = r.integer(c.get("min_rows", 1000), "canary.min_rows", low=2)
    max_rows = r.integer(c.get("max_rows", 200_000), "canary.max_rows", low=2)
    if max_rows < min_rows:
        raise r.fail("canary.max_rows", f"a number ≥ canary.min_rows ({min_rows})", max_rows)
    max_days = r.number(c.get("max_days", 14), "canary.max_days", low=0, low_open=True)
    on_expired = r.choice(c.get("on_expired", "rollback"), "canary.on_expired", ("rollback", "promote"))
    tuning = r.integer(c.get("tuning_rows", 5000), "canary.tuning_rows", low=1)
    classes = c.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or len(classes) < 2:
            raise r.fail("canary.classes", "a list of at least two labels", classes)
        for i, label in enumerate(classes):
            if not isinstance(label, (str, int, float, bool)):
                raise r.fail(f"canary.classes[{i}]", "a label (string, number or boolean)", label)
        classes = tuple(classes)
    return CanarySpec(log=log, labels=labels, columns=columns, mode=mode, candidate=candidate, gates=gates,
                      disagreement=disagreement, coverage=coverage, min_rows=min_rows, max_rows=max_rows, max_days=max_days,
                      on_expired=on_expired, tuning_rows=tuning, classes=classes)


def parse_source(r, value: Any, where: str, prefixed) -> LogSource:
    """A path or glob in the workspace, or a SQL table or query (the canary log, its labels, the
    drift window)."""
    if isinstance(value, str):
        return LogSource(where=where, path=_path(r, value, where))
    m = r.mapping(value, where, {"path", "url", "table", "query"})
    if m.get("path") is not None:
        if any(m.get(k) is not None for k in ("url", "table", "query")):
            raise r.fail(where, "either path, or url with table or query")
        return LogSource(where=where, path=_path(r, m["path"], f"{where}.path"))
    if m.get("url") is None:
        raise r.fail(f"{where}.url", "a SQLAlchemy database URL (or give path: for files)")
    url = r.string(m["url"], f"{where}.url")
    if "$" in VARIABLE.sub("", url):
        raise r.fail(f"{where}.url", "${NAME} references only (a bare $NAME would be used as written)")
    for ref in VARIABLE.findall(url):
        prefixed(r, ref, f"{where}.url")
    userinfo = url.split("//", 1)[-1].split("/", 1)[0].rpartition("@")[0]
    if ":" in userinfo and not VARIABLE.fullmatch(userinfo.split(":", 1)[1]):
        raise r.fail(f"{where}.url", "the password as a ${MLGATE_*} reference (the policy is public: a password "
                                     "written in it is no secret)")
    from urllib.parse import parse_qsl

    for name, value in parse_qsl(url.partition("?")[2]):
        if re.search(r"pass|secret|token|key", name, re.I) and not VARIABLE.fullmatch(value):
            raise r.fail(f"{where}.url", f"{name}= as a ${{MLGATE_*}} reference (the policy is public: a credential "
                                         "written in it is no secret)")
    table, query = m.get("table"), m.get("query")
    if (table is None) == (query is None):
        raise r.fail(where, "exactly one of table or query beside url")
    return LogSource(where=where, url=url,
                     table=r.string(table, f"{where}.table") if table is not None else None,
                     query=r.string(query, f"{where}.query") if query is not None else None)


def _path(r, value: Any, where: str) -> str:
    text = r.string(value, where)
    if text.startswith(("http://", "https://")):
        raise r.fail(where, "a path or glob in the workspace (or url: for a database)", text)
    return text


def _gates(r, value: Any, task: str | None) -> tuple[CanaryGate, ...]:
    if not isinstance(value, list) or not value:
        raise r.fail("canary.gates", "a non-empty list of gates", value)
    out, names = [], set()
    for i, g in enumerate(value):
        where = f"canary.gates[{i}]"
        g = r.mapping(g, where, {"metric", "rule", "margin", "name"}, {"metric", "rule"})
        metric = r.choice(g["metric"], f"{where}.metric", ROW_METRICS)
        kind = METRICS[metric].task
        if task is not None and task != kind:
            raise r.fail(f"{where}.metric", f"a {task} metric", metric)
        rule = r.choice(g["rule"], f"{where}.rule", CANARY_RULES)
        if rule == "non_inferior" and g.get("margin") is None:
            raise r.fail(f"{where}.margin", "a value (rule non_inferior needs it)")
        if rule == "superior" and "margin" in g:
            raise r.fail(f"{where}.margin", "no margin for rule superior")
        margin = r.number(g.get("margin", 0), f"{where}.margin", low=0)
        name = r.string(g["name"], f"{where}.name") if g.get("name") is not None else f"{metric} {rule}"
        if name in names:
            raise r.fail(f"{where}.name", "a name unique among the canary gates (add name: to one of them)", name)
        names.add(name)
        out.append(CanaryGate(metric=metric, rule=rule, name=name, margin=margin))
    kinds = {METRICS[g.metric].task for g in out}
    if len(kinds) > 1:
        raise r.fail("canary.gates", "metrics of one task (classification or regression)")
    return tuple(out)



