"""The Dask engine: score the holdout's partitions on a cluster, merge their evidence here.

The client runs the same survey as the local engine (``gates.holdout.survey``: labels, task,
validation with global row numbers, the file's SHA-256), then reads the holdout as a Dask
dataframe and maps :func:`gates.engine.chunks.score_chunk` over its partitions on the workers.
Each partition returns its :class:`~gates.evidence.Evidence` (overall and per slice); the
client merges them in partition order, which is file order, so the score arrays DeLong sees
are the ones the local engine sees and the decision is the same.

Models travel to the workers as bytes (scattered once) and are loaded there with the same
skops trusted-types check (``gates.models.load.load_model_bytes``), once per worker process.
Predictions files are matched to the holdout on the client (as in the streaming engine) and
each partition gets its slice of them.

Workers read the holdout by the same path as the client, so it must be on storage both see (a
shared filesystem, or the same path on a single machine), and they need mlgate installed.
Nothing here reads the environment: the scheduler address comes from the CLI or the policy.
A worker that dies is retried by Dask (``distributed.scheduler.allowed-failures``); if the
task keeps failing, or the scheduler is unreachable, the evaluation fails with exit 3 and one
line saying what failed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import math

from ..errors import InfrastructureError, InputError, MlgateError
from ..holdout.survey import Survey
from ..models.load import Model, load_model_bytes
from .chunks import Plan, Streamed, StreamTotals, check_rows, score_chunk, slice_scores

CONNECT_TIMEOUT_S = 20


_LOADED: dict = {}  # per worker process: models already loaded from their bytes


@dataclass(frozen=True)
class ModelPayload:
    """A model as bytes plus what is needed to load it as safely as the client did."""

    data: bytes
    suffix: str
    role: str
    source: str
    sha256: str
    trusted_types: tuple
    trust_pickle: bool


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
        import distributed
    except ImportError as exc:
        raise InputError(
            f"--engine dask: Dask is not installed ({exc}); install it with pip install 'mlgate[dask]'"
        ) from None
    return dask, dd, distributed


def payload(model: Model | None, *, trusted_types, trust_pickle: bool) -> ModelPayload | Model | None:
    """What a worker gets: the model's bytes, or for a predictions file a stub naming it."""
    if model is None:
        return None
    if model.estimator is None:
        return Model(role=model.role, source=model.source, sha256=model.sha256)
    return ModelPayload(data=model.path.read_bytes(), suffix=model.path.suffix, role=model.role,
                        source=model.source, sha256=model.sha256, trusted_types=tuple(trusted_types),
                        trust_pickle=trust_pickle)


def worker_model(p) -> Model | None:
    """Load (once per process) a shipped model with the same checks as on the client."""
    if not isinstance(p, ModelPayload):
        return p
    key = (p.sha256, p.role, p.trusted_types, p.trust_pickle)
    if key not in _LOADED:
        _LOADED[key] = load_model_bytes(p.data, suffix=p.suffix, role=p.role, label=p.source,
                                        trusted_types=p.trusted_types, trust_pickle=p.trust_pickle)
    return _LOADED[key]


def score_partition(frame, plan: Plan, candidate, production, fixed):
    return score_chunk(frame, plan, worker_model(candidate), worker_model(production), fixed)


def read_dataframe(survey: Survey, chunk_rows: int):
    """The holdout as a Dask dataframe of about ``chunk_rows`` rows per partition."""
    _, dd, _ = _import_dask()
    path = str(survey.path)
    wanted = max(1, math.ceil(survey.rows / chunk_rows))
    if survey.fmt == "csv":
        from ..holdout.read_chunks import compression_of

        compression = compression_of(survey.path)
        blocksize = None
        if compression is None:
            blocksize = max(1 << 16, int(survey.path.stat().st_size / wanted) + 1)
        # Dask infers dtypes from a sample; the survey's dtypes pin target, slices and id, and
        # assume_missing reads other integer columns as float so no partition disagrees.
        return dd.read_csv(path, blocksize=blocksize, dtype=survey.dtypes or None, assume_missing=True,
                           compression=compression)
    ddf = dd.read_parquet(path, split_row_groups=True)
    if ddf.npartitions < wanted:
        ddf = ddf.repartition(npartitions=wanted)
    return ddf


def stream_dask(survey: Survey, plan: Plan, candidate: Model, production: Model | None, *, scheduler: str,
                chunk_rows: int, fixed: dict | None = None, trusted_types=(), trust_pickle: bool = False,
                progress=None) -> Streamed:
    dask, _, distributed = _import_dask()
    say = progress or (lambda _msg: None)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:
        raise InfrastructureError(
            f"--scheduler: cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    try:
        ddf = read_dataframe(survey, chunk_rows)
        parts = ddf.to_delayed()
        say(f"scoring {len(parts)} partitions on the Dask cluster at {scheduler}")
        offsets = [0] * len(parts)
        if fixed:
            lengths = client.gather(client.compute([dask.delayed(len)(p) for p in parts]))
            offsets = [sum(lengths[:i]) for i in range(len(parts))]
            lengths_of = lengths
        shipped = {}
        for role, model in (("candidate", candidate), ("production", production)):
            p = payload(model, trusted_types=trusted_types, trust_pickle=trust_pickle)
            shipped[role] = client.scatter(p, broadcast=True, hash=False) if isinstance(p, ModelPayload) else p
        # Partition results are gathered all at once: the curves' 2 MB of bins per partition
        # would pile up on the client, so the client draws them from the merged scores instead.
        plan_ref = client.scatter(dataclasses.replace(plan, bin_scores=False), broadcast=True, hash=False)
        tasks = []
        for i, part in enumerate(parts):
            chunk_fixed = None
            if fixed:
                chunk_fixed = {role: slice_scores(s, offsets[i], lengths_of[i]) for role, s in fixed.items()}
            tasks.append(dask.delayed(score_partition, pure=False)(
                part, plan_ref, shipped["candidate"], shipped["production"], chunk_fixed))
        results = client.gather(client.compute(tasks))
    except MlgateError:
        raise
    except Exception as exc:
        raise InfrastructureError(_failure(exc, scheduler)) from None
    finally:
        client.close()
    totals = StreamTotals(plan)
    for overall, slices in results:
        totals.add(overall, slices)
    check_rows(survey, totals.rows)
    overall, slices = totals.result(plan.labels)
    return Streamed(overall=overall, slices=slices, rows=totals.rows, sha256=survey.sha256, sample=None)


def _failure(exc: Exception, scheduler: str) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return (f"Dask engine: a partition's worker died repeatedly and Dask gave up retrying it ({first_line(exc)}); "
                f"check the workers' memory and logs on {scheduler}")
    return f"Dask engine: scoring on {scheduler} failed ({name}: {first_line(exc)})"


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
