"""The policy file (``.github/mlgate.yml``): load, validate, and hold it as typed data.

Validation is strict because a typo must never silently disable a gate: unknown keys are
errors, and every error names the file, the key path and what was expected.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
import re
from typing import Any

import yaml

from ..errors import ConfigError
from .spec import (
    MAX_CONFIG_BYTES,
    MODEL_FORMATS,
    VARIABLE,
    VARIABLE_PREFIX,
    DataSpec,
    ModelSpec,
    Policy,
    RegistrySpec,
    TrainSpec,
)
from .canary import parse_canary
from .drift import parse_drift
from .gate_list import parse_gates
from .strict_yaml import DuplicateKey, StrictLoader, closest, join_key, tab_indented_line

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


# Headers whose value is a credential: written literally in a public policy, it is no secret.
_CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|password|cookie|session", re.I)


class Reader:
    """Walks the YAML mapping, collecting the key path so every error can name it."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, expected: str, got: Any = ...) -> ConfigError:
        where = f"{self.source}: {path}" if path else self.source
        tail = "" if got is ... else f", got {got!r}"
        return ConfigError(f"{where}: expected {expected}{tail}")

    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "a mapping", value)
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                hint = closest(str(key), allowed)
                extra = f" (did you mean {hint!r}?)" if hint else ""
                raise ConfigError(
                    f"{self.source}: {join_key(path, str(key))}: unknown key{extra}; "
                    f"expected one of {', '.join(sorted(allowed))}"
                )
        for key in sorted(required):
            if key not in value or value[key] is None:
                raise self.fail(join_key(path, key), "a value (required)")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "a non-empty string", value)
        return value

    def number(self, value: Any, path: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise self.fail(path, "a number", value)
        if low is not None and (value < low or (low_open and value == low)):
            raise self.fail(path, f"a number {'>' if low_open else '≥'} {low}", value)
        if high is not None and (value > high or (high_open and value == high)):
            raise self.fail(path, f"a number {'<' if high_open else '≤'} {high}", value)
        return float(value)

    def integer(self, value: Any, path: str, *, low=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, "an integer", value)
        if low is not None and value < low:
            raise self.fail(path, f"an integer ≥ {low}", value)
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "true or false", value)
        return value

    def choice(self, value: Any, path: str, choices) -> str:
        if value not in choices:
            hint = closest(str(value), set(choices))
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise ConfigError(
                f"{self.source}: {path}: expected one of {', '.join(choices)}, got {value!r}{extra}"
            )
        return value


def load_policy(path: str | Path, *, text: str | None = None, source: str | None = None) -> Policy:
    """Read and validate a policy file (or ``text`` read elsewhere, e.g. from the base branch)."""
    path = Path(path)
    source = source or str(path)
    if text is None:
        if not path.is_file():
            raise ConfigError(f"{source}: config file not found (pass --config or create it)")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source}: config file is larger than {MAX_CONFIG_BYTES} bytes")
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy(text, source)


def parse_policy(text: str, source: str) -> Policy:
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: config is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        raw = yaml.load(text, Loader=StrictLoader)
    except DuplicateKey as exc:
        raise ConfigError(f"{source}: {exc.path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        tab = tab_indented_line(text, mark.line + 1 if mark else None)
        if tab is not None:
            raise ConfigError(f"{source}: invalid YAML at line {tab}: YAML does not allow tabs for indentation; "
                              "use spaces") from None
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raise ConfigError(f"{source}: expected a mapping, got None (the file is empty): a policy needs at least "
                          "version: 1, data: {holdout: FILE, target: COLUMN} and gates: [...]; see the README's "
                          "Configuration section")
    r = Reader(source)
    top = r.mapping(
        raw,
        "",
        {"version", "task", "data", "candidate", "production", "gates", "stats", "security", "engine", "promotion", "limits",
         "canary", "drift"},
        {"version", "data", "gates"},
    )
    if top["version"] != 1 or isinstance(top["version"], bool):
        raise r.fail("version", "1", top["version"])
    task = top.get("task")
    if task is not None:
        r.choice(task, "task", ("classification", "regression"))

    data = _data(r, top["data"])
    candidate = _model(r, top.get("candidate", {"path": "build/model.skops"}), "candidate", allow_registry=False)
    production = _model(r, top.get("production", {"registry": "models/registry"}), "production", allow_registry=True)
    gates = parse_gates(r, top["gates"], task, candidate=candidate, production=production)
    if data.target is None:
        _without_target(r, task, gates)

    stats = r.mapping(top.get("stats") or {}, "stats", {"alpha", "power", "bootstrap", "attempts"})
    alpha = r.number(stats.get("alpha", 0.05), "stats.alpha", low=0, high=0.5, low_open=True, high_open=True)
    power = r.number(stats.get("power", 0.8), "stats.power", low=0, high=1, low_open=True, high_open=True)
    boot = r.mapping(stats.get("bootstrap") or {}, "stats.bootstrap", {"resamples", "seed"})
    resamples = r.integer(boot.get("resamples", 10_000), "stats.bootstrap.resamples", low=1000)
    seed = r.integer(boot.get("seed", 0), "stats.bootstrap.seed", low=0)
    attempts = r.mapping(stats.get("attempts") or {}, "stats.attempts", {"spend"})
    spend = r.boolean(attempts.get("spend", False), "stats.attempts.spend")

    sec = r.mapping(top.get("security") or {}, "security", {"trusted_types", "formats"})
    trusted = sec.get("trusted_types") or []
    if not isinstance(trusted, list):
        raise r.fail("security.trusted_types", "a list of type names", trusted)
    trusted = tuple(r.string(t, f"security.trusted_types[{i}]") for i, t in enumerate(trusted))
    formats = sec.get("formats", ["skops"])
    if not isinstance(formats, list) or not formats:
        raise r.fail("security.formats", f"a non-empty list of {', '.join(MODEL_FORMATS)}", formats)
    formats = tuple(r.choice(f, f"security.formats[{i}]", MODEL_FORMATS) for i, f in enumerate(formats))

    eng = r.mapping(top.get("engine") or {}, "engine", {"kind", "scheduler", "chunk_rows"})
    engine = r.choice(eng.get("kind", "local"), "engine.kind", ("local", "dask"))
    scheduler = eng.get("scheduler")
    if scheduler is not None:
        scheduler = r.string(scheduler, "engine.scheduler")
    chunk_rows = eng.get("chunk_rows")
    if chunk_rows is not None:
        chunk_rows = r.integer(chunk_rows, "engine.chunk_rows", low=1)

    limits = r.mapping(top.get("limits") or {}, "limits", {"evaluate_s"})
    evaluate_s = limits.get("evaluate_s", 1800)
    if isinstance(evaluate_s, bool) or not isinstance(evaluate_s, (int, float)) or not 0 < evaluate_s < math.inf:
        raise r.fail("limits.evaluate_s", "a positive number of seconds", evaluate_s)

    promo = r.mapping(top.get("promotion") or {}, "promotion", {"when", "to"})
    when = r.choice(promo.get("when", "merge"), "promotion.when", ("merge", "command"))
    to = r.choice(promo.get("to", "production"), "promotion.to", ("production", "canary"))
    canary = parse_canary(r, top.get("canary"), task=task, prefixed=_prefixed)
    drift = parse_drift(r, top.get("drift"), prefixed=_prefixed)

    return Policy(
        version=1,
        task=task,
        data=data,
        candidate=candidate,
        production=production,
        gates=gates,
        alpha=alpha,
        power=power, spend_attempts=spend,
        resamples=resamples,
        seed=seed,
        trusted_types=trusted,
        formats=formats,
        engine=engine,
        scheduler=scheduler,
        chunk_rows=chunk_rows,
        promotion_when=when,
        promotion_to=to,
        canary=canary,
        drift=drift,
        evaluate_s=float(evaluate_s),
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        raw=raw,
    )


def _data(r: Reader, value: Any) -> DataSpec:
    d = r.mapping(
        value,
        "data",
        {"holdout", "sha256", "target", "id_column", "group_column", "slices", "features", "positive_label",
         "allow_changes_in_pr", "headers", "key"},
        {"holdout"},  # data.target too, unless every gate is mean_score (checked with the gates)
    )
    holdout = r.string(d["holdout"], "data.holdout")
    sha = d.get("sha256")
    if sha is not None:
        if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha.lower()):
            raise r.fail("data.sha256", "64 hexadecimal characters", sha)
        sha = sha.lower()
    if holdout.startswith(("http://", "https://")) and sha is None:
        raise r.fail("data.sha256", "a SHA-256 pin when data.holdout is a URL")
    if holdout.startswith("http://"):
        raise r.fail("data.holdout", "a workspace path or an https URL", holdout)
    slices = d.get("slices") or []
    if isinstance(slices, str):
        slices = [slices]
    if not isinstance(slices, list):
        raise r.fail("data.slices", "a list of column names", slices)
    slices = tuple(r.string(s, f"data.slices[{i}]") for i, s in enumerate(slices))
    id_column = d.get("id_column")
    if id_column is not None:
        id_column = r.string(id_column, "data.id_column")
    group_column = d.get("group_column")
    if group_column is not None:
        group_column = r.string(group_column, "data.group_column")
        if group_column == d.get("target"):
            raise r.fail("data.group_column", "a column other than data.target", group_column)
    held_out = {d.get("target"): "data.target"} | ({id_column: "data.id_column"} if id_column else {})
    features = _features(r, d.get("features"), held_out)
    positive = d.get("positive_label")
    if positive is not None and not isinstance(positive, (str, int, float, bool)):
        raise r.fail("data.positive_label", "a label (string, number or boolean)", positive)
    headers = _headers(r, d.get("headers"), url=holdout.startswith("https://"))
    key_env = _key(r, d.get("key"), url=holdout.startswith("https://"))
    return DataSpec(
        holdout=holdout,
        target=r.string(d["target"], "data.target") if d.get("target") is not None else None,
        sha256=sha,
        id_column=id_column,
        group_column=group_column,
        slices=slices,
        features=features,
        positive_label=positive,
        allow_changes_in_pr=r.boolean(d.get("allow_changes_in_pr", False), "data.allow_changes_in_pr"),
        headers=headers,
        key_env=key_env,
    )


def _features(r: Reader, value: Any, held_out: dict) -> tuple[str, ...] | None:
    """``data.features``: the columns the models receive, in this order; never the label or row id."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise r.fail("data.features", "a non-empty list of column names", value)
    names = tuple(r.string(v, f"data.features[{i}]") for i, v in enumerate(value))
    for i, name in enumerate(names):
        if name in held_out:
            raise r.fail(f"data.features[{i}]", f"a column other than {held_out[name]} (a model must not be fed it)", name)
        if name in names[:i]:
            raise r.fail(f"data.features[{i}]", "each column once", name)
    return names


def _without_target(r: Reader, task: str | None, gates) -> None:
    """A holdout with no target only lists examples: enough when every gate compares the
    per-example scores of predictions files (mean_score), and nothing else."""
    if any(g.metric != "mean_score" for g in gates):
        raise r.fail("data.target", "a value (required unless every gate is mean_score)")
    if task is not None:
        raise r.fail("task", "no task without data.target (mean_score gates compare per-example scores, whatever "
                             "the task)", task)


def _headers(r: Reader, value: Any, *, url: bool) -> tuple[tuple[str, str], ...]:
    """``data.headers``; no message quotes a value (it may hold a credential by mistake)."""
    if value is None:
        return ()
    if not url:
        raise r.fail("data.headers", "no headers unless data.holdout is an https URL")
    if not isinstance(value, dict):
        raise r.fail("data.headers", "a mapping of header name to value")
    out = []
    for name, text in value.items():
        where = join_key("data.headers", str(name))
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise r.fail(where, "an HTTP header name (letters, digits and -)")
        if not isinstance(text, str) or not text.strip():
            raise r.fail(where, "a non-empty string")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise r.fail(where, "a value without control characters (no line breaks)")
        if "$" in VARIABLE.sub("", text):
            raise r.fail(where, "${NAME} references only (nothing else is expanded: a bare $NAME, or ${...} "
                                "with other characters, would be sent as written)")
        for ref in VARIABLE.findall(text):
            _prefixed(r, ref, where)
        if _CREDENTIAL_HEADER.search(name) and not VARIABLE.search(text):
            raise r.fail(where, "a ${NAME} reference to an environment variable holding the credential "
                                "(the policy is public: a credential written in it is no secret)")
        out.append((name, text))
    return tuple(out)


def _prefixed(r: Reader, name: str, where: str) -> None:
    if not name.startswith(VARIABLE_PREFIX) or name == VARIABLE_PREFIX:
        raise r.fail(where, f"a variable named {VARIABLE_PREFIX}* (only those are looked up, so a policy cannot "
                            "send another secret of the job to a server)", "${" + name + "}")


def _key(r: Reader, value: Any, *, url: bool) -> str | None:
    """``data.key``: exactly ``${NAME}``; the variable's name is kept, never a key."""
    if value is None:
        return None
    match = VARIABLE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise r.fail("data.key", "a ${NAME} reference to the environment variable holding the key (the policy "
                                 "is public: a key written in it is no secret; rotate it if it was committed)")
    _prefixed(r, match.group(1), "data.key")
    if url:
        raise r.fail("data.key", "no key for an https holdout (it is sealed by data.headers); a key decrypts a "
                                 "holdout file in the workspace")
    return match.group(1)


def _model(r: Reader, value: Any, where: str, *, allow_registry: bool) -> ModelSpec:
    keys = {"path", "train", "predictions"} | ({"registry", "alias"} if allow_registry else set())
    m = r.mapping(value, where, keys)
    sources = [k for k in ("path", "train", "predictions", "registry") if m.get(k) is not None]
    if len(sources) != 1:
        options = " or ".join(sorted(keys - {"alias"}))
        raise r.fail(where, f"exactly one of {options}", sorted(sources) or None)
    spec: dict[str, Any] = {}
    if m.get("path") is not None:
        spec["path"] = r.string(m["path"], f"{where}.path")
    if m.get("train") is not None:
        t = r.mapping(m["train"], f"{where}.train", {"command", "output", "timeout_s"}, {"command", "output"})
        command = r.string(t["command"], f"{where}.train.command")
        spec["train"] = TrainSpec(
            command=command,
            output=r.string(t["output"], f"{where}.train.output"),
            timeout_s=r.number(t.get("timeout_s", 1800), f"{where}.train.timeout_s", low=0, low_open=True),
        )
    if m.get("predictions") is not None:
        p = m["predictions"]
        if isinstance(p, str):
            spec["predictions"] = r.string(p, f"{where}.predictions")
        else:
            p = r.mapping(p, f"{where}.predictions", {"path"}, {"path"})
            spec["predictions"] = r.string(p["path"], f"{where}.predictions.path")
    if m.get("registry") is not None:
        spec["registry"] = _registry(r, m["registry"], f"{where}.registry")
    if "alias" in m:
        spec["alias"] = r.string(m["alias"], f"{where}.alias")
    return ModelSpec(**spec)


def _registry(r: Reader, value: Any, where: str) -> RegistrySpec:
    if isinstance(value, str):
        return RegistrySpec(kind="file", path=r.string(value, where))
    m = r.mapping(value, where, {"kind", "path", "tag_prefix", "model_name", "tracking_uri", "artifact_location"}, {"kind"})
    kind = r.choice(m["kind"], f"{where}.kind", ("file", "github-releases", "mlflow"))
    if kind == "file" and m.get("path") is None:
        raise r.fail(f"{where}.path", "a directory for the file registry")
    if kind == "mlflow":
        for key, what in (("model_name", "the registered model's name"), ("tracking_uri", "the MLflow tracking URI")):
            if m.get(key) is None:
                raise r.fail(f"{where}.{key}", what)
            r.string(m[key], f"{where}.{key}")
    return RegistrySpec(
        kind=kind,
        path=r.string(m["path"], f"{where}.path") if m.get("path") is not None else None,
        tag_prefix=r.string(m.get("tag_prefix", "model-v"), f"{where}.tag_prefix"),
        model_name=m.get("model_name"),
        tracking_uri=m.get("tracking_uri"),
        artifact_location=m.get("artifact_location"),
    )
