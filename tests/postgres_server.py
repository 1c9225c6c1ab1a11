"""A real PostgreSQL server for the tests: started once per session on 127.0.0.1, removed after.

The binaries come from PATH or Debian's ``/usr/lib/postgresql/*/bin``. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (else ``nobody``), with its
data and socket directories in a temporary directory that user owns. Without the binaries the
tests that need the server are skipped, unless ``REQUIRE_POSTGRES_FOR_TESTS=1`` (CI sets it), when
they fail: CI must not pass by skipping them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "mlgate"  # the database superuser initdb creates; trust authentication, loopback only


def binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    found = shutil.which("initdb")
    candidates = [Path(os.path.realpath(found)).parent] if found else []
    candidates += [Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _account() -> pwd.struct_passwd | None:
    """Who runs the server: None (this user) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL")


def _runner(account: pwd.struct_passwd | None):
    def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
        def demote():
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        if account is not None:
            env["HOME"] = kwargs["cwd"]
        return subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=120,
                              preexec_fn=demote if account is not None else None, **kwargs)

    return run


@pytest.fixture(scope="session")
def postgres_url():
    """``postgresql+psycopg://mlgate@127.0.0.1:PORT/postgres`` of a server alive for the session."""
    folder = binaries()
    if folder is None:
        message = "PostgreSQL's initdb/pg_ctl/postgres are not installed (Debian: apt-get install postgresql)"
        if os.environ.get("REQUIRE_POSTGRES_FOR_TESTS") == "1":
            pytest.fail(f"{message}; REQUIRE_POSTGRES_FOR_TESTS=1 requires them")
        pytest.skip(message)
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install '.[test]'")
    account = _account()
    base = Path(tempfile.mkdtemp(prefix="mlgate-pg-"))
    data, sockets, port = base / "data", base / "sockets", _free_port()
    sockets.mkdir()
    if account is not None:
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    run = _runner(account)
    try:
        init = run([folder / "initdb", "-D", data, "--auth=trust", "-U", USER, "--encoding=UTF8", "--locale=C"],
                   cwd=str(base))
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stdout}{init.stderr}")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        start = run([folder / "pg_ctl", "-D", data, "-l", base / "server.log", "-o", options, "-w", "-t", "60",
                     "start"], cwd=str(base))
        if start.returncode != 0:
            log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
            pytest.fail(f"pg_ctl start failed: {start.stdout}{start.stderr}{log[-2000:]}")
        try:
            yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run([folder / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], cwd=str(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
