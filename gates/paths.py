"""Files: paths named in the policy stay inside the workspace, and writes are atomic.

A policy is partly attacker-controlled in a pull request, so ``../``, absolute paths and
symlinks that point out of the workspace are refused rather than followed. Every file mlgate
writes (reports, the registry, a sealed or downloaded holdout) goes through
:func:`atomic_write`, so a crash or a full disk leaves the old file or none, never half of one.
"""

from __future__ import annotations

from contextlib import contextmanager
import hashlib
import os
from pathlib import Path
import tempfile
from typing import IO, Iterator

from .errors import ConfigError


def inside(workspace: Path, relative: str, key: str, *, must_exist: bool = True, what: str = "file") -> Path:
    """Resolve ``relative`` under ``workspace``; ``key`` names the config key for errors."""
    root = Path(workspace).resolve()
    candidate = Path(relative)
    if candidate.is_absolute():
        raise ConfigError(f"{key}: {relative!r} is an absolute path; paths must be relative to the workspace")
    full = (root / candidate).resolve()
    if full != root and root not in full.parents:
        raise ConfigError(f"{key}: {relative!r} points outside the workspace {root}")
    if must_exist and not full.exists():
        raise ConfigError(f"{key}: {what} {relative!r} not found in the workspace {root}")
    return full


@contextmanager
def atomic_write(target: Path, mode: str = "wb", *, encoding: str | None = None, private: bool = False) -> Iterator[IO]:
    """A file to write that replaces ``target`` only when the block ends without an error.

    The temporary file sits beside the target (same file system, so the rename is atomic) and
    is flushed to disk before the rename; on any error it is removed and ``target`` is untouched.
    It gets the mode an ordinary ``open`` would (0666 less the umask), not ``mkstemp``'s 0600: a
    team's shared registry or a served report must stay readable to the others. ``private``
    keeps 0600 (a sealed holdout's plaintext, a downloaded holdout).
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        if not private:
            os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_texts(out: Path, files: dict[str, str]) -> dict[str, Path]:
    """Each ``name: text`` as a UTF-8 file in ``out`` (made if missing), each written atomically:
    a reader never sees half a report. Returns where each went."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, text in files.items():
        with atomic_write(out / name, "w", encoding="utf-8") as fh:
            fh.write(text)
        written[name] = out / name
    return written


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
