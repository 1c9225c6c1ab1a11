"""The canary's database sources: a table or a query, read through SQLAlchemy Core in chunks.

The URL may hold ``${MLGATE_*}`` references, looked up in the ``env`` the caller passes
(``gates`` reads no environment variables); a reference that makes up the whole password is
URL-quoted, so any character in a password works. A table is selected by name as a quoted
identifier (``schema.table`` names a schema), never formatted into SQL; a query is run as given
(the policy is trusted: it comes from the default branch). A relative SQLite path is a file in
the workspace.

A database that cannot be reached (down, or refusing the login) is an
:class:`InfrastructureError` (exit 3): one line naming the policy key and the host. A missing
table or column, or a query the database refuses, is the user's to fix (exit 2). No message
carries the password: the URL is shown with ``***`` for it, and every expanded value is scrubbed
from the text of each error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Mapping
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..config.spec import VARIABLE, VARIABLE_PREFIX, LogSource
from ..errors import ConfigError, InfrastructureError, InputError
from ..paths import inside
from .files import Part

CHUNK_ROWS = 100_000  # rows fetched per round trip (a server-side cursor where the driver has one)


CONNECT_TIMEOUT_S = 10  # a host that never answers fails in this long, not never


def read_sql(source: LogSource, workspace: Path, wanted: list[str],
             env: Mapping[str, str] | None) -> tuple[list[Part], str]:
    """The source's rows as parts of at most :data:`CHUNK_ROWS`; and a line saying what was read."""
    key = source.where
    try:
        import sqlalchemy as sa
    except ImportError:
        raise InputError(f"{key}: reading a database needs SQLAlchemy and a driver: pip install 'mlgate[sql]'") from None
    secrets: list[str] = []
    url = _url(sa, source.url, f"{key}.url", env or {}, secrets, workspace)
    if url.password:
        secrets.append(str(url.password))
    # Shown as the policy wrote it: ${MLGATE_*} references unexpanded, wherever the URL put them
    # (the user part, or a query string such as ?password=...), so no message carries a secret.
    shown = source.url
    host = f"{url.host}:{url.port}" if url.port else (url.host or url.database or shown)
    what = f"table {source.table}" if source.table is not None else "query"

    def scrub(text: str) -> str:
        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            text = text.replace(quote(secret, safe=""), "***").replace(secret, "***")
        return text

    def reason(exc: BaseException) -> str:
        inner = getattr(exc, "orig", None) or exc
        lines = [line.strip() for line in str(inner).strip().splitlines() if line.strip()]
        return scrub(lines[0] if lines else type(inner).__name__)

    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=_connect_args(url))
    except ModuleNotFoundError as exc:
        raise InputError(f"{key}: the database driver {exc.name!r} for {url.drivername} is not installed "
                         "(pip install 'mlgate[sql]' brings PostgreSQL's psycopg)") from None
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigError(f"{key}.url: cannot use {shown}: {reason(exc)}") from None
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise InfrastructureError(f"{key}: cannot connect to the database at {host}: {reason(exc)}") from None
        with conn:
            try:
                parts = (_table(sa, conn, source.table, what, wanted) if source.table is not None
                         else _query(sa, conn, source.query, wanted))
            except sa.exc.NoSuchTableError:
                raise InputError(f"{key}: table {source.table!r} not found in the database {shown}") from None
            except (sa.exc.ProgrammingError, sa.exc.DataError, sa.exc.IntegrityError) as exc:
                raise InputError(f"{key}: the database refused the {what}: {reason(exc)}") from None
            except sa.exc.OperationalError as exc:
                if _sqlite_refusal(url, exc):  # SQLite reports a missing table or column this way
                    raise InputError(f"{key}: the database refused the {what}: {reason(exc)}") from None
                raise InfrastructureError(f"{key}: lost the database at {host}: {reason(exc)}") from None
            except sa.exc.SQLAlchemyError as exc:
                raise InfrastructureError(f"{key}: reading the database at {host} failed: {reason(exc)}") from None
    finally:
        engine.dispose()
    rows = sum(len(p.frame) for p in parts)
    return parts, scrub(f"{what} at {shown}: {rows:,} rows")


def _url(sa, text: str, key: str, env: Mapping[str, str], secrets: list[str], workspace: Path):
    """The URL with its references expanded, the PostgreSQL driver chosen, SQLite paths resolved."""
    scheme, sep, rest = text.partition("://")
    netloc = rest.split("/", 1)[0]
    userinfo = netloc.rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    if colon and VARIABLE.fullmatch(password):  # the whole password: quote it, so '@' or '/' may be in it
        head = f"{scheme}{sep}{user}:"
        value = quote(_variable(env, VARIABLE.fullmatch(password).group(1), key, secrets), safe="")
        text = head + value + text[len(head) + len(password):]
    expanded = VARIABLE.sub(lambda m: _variable(env, m.group(1), key, secrets), text)
    try:
        url = sa.engine.make_url(expanded)
    except (sa.exc.ArgumentError, ValueError):
        shown = expanded
        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            shown = shown.replace(quote(secret, safe=""), "***").replace(secret, "***")
        raise ConfigError(f"{key}: not a database URL SQLAlchemy reads: {shown!r}") from None
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and not Path(url.database).is_absolute():
        url = url.set(database=str(inside(workspace, url.database, key, what="database file")))
    return url


def _variable(env: Mapping[str, str], name: str, key: str, secrets: list[str]) -> str:
    if not name.startswith(VARIABLE_PREFIX):  # the policy check, again: never hand out another secret
        raise ConfigError(f"{key}: only {VARIABLE_PREFIX}* environment variables are looked up, not {name}")
    found = env.get(name)
    if found is None or not found.strip():  # GitHub passes a secret the job cannot see as ""
        raise ConfigError(f"{key}: environment variable {name} is not set (the URL names it as ${{{name}}})")
    secrets.extend({found, found.strip()})
    return found


def _connect_args(url) -> dict:
    return {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}


def _sqlite_refusal(url, exc) -> bool:
    text = str(getattr(exc, "orig", exc))
    return url.get_backend_name() == "sqlite" and text.startswith(("no such ", "near ", "ambiguous "))


def _table(sa, conn, name: str, what: str, wanted: list[str]) -> list[Part]:
    schema, _, table = name.rpartition(".")
    inspector = sa.inspect(conn)
    columns = [c["name"] for c in inspector.get_columns(table, schema=schema or None)]
    order = inspector.get_pk_constraint(table, schema=schema or None).get("constrained_columns") or []
    present = [c for c in wanted if c in columns]
    t = sa.table(table, *[sa.column(c) for c in dict.fromkeys(present + order)], schema=schema or None)
    # A primary key fixes the row numbers messages give; without one, the database's order.
    statement = sa.select(*[t.c[c] for c in present]).order_by(*[t.c[c] for c in order])
    return _stream(conn, statement, f"{what}, row ", columns, wanted)


def _query(sa, conn, query: str, wanted: list[str]) -> list[Part]:
    return _stream(conn, sa.text(query), "query, row ", None, wanted)


def _stream(conn, statement, prefix: str, columns: list | None, wanted: list[str]) -> list[Part]:
    result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(statement)
    keys = list(result.keys())
    columns = tuple(columns if columns is not None else keys)
    present = [c for c in wanted if c in keys]
    name = prefix.split(",")[0]
    parts, done = [], 0
    for rows in result.partitions():
        frame = pd.DataFrame.from_records(rows, columns=keys)[present]
        parts.append(Part(frame, name, prefix, np.arange(done + 1, done + len(frame) + 1, dtype=np.int64), columns))
        done += len(frame)
    if not parts:
        parts.append(Part(pd.DataFrame(columns=present), name, prefix, np.zeros(0, dtype=np.int64), columns))
    return parts
