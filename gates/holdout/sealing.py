"""Sealed files: a holdout encrypted so that only a job holding the key can read it.

The key is a Fernet key (``cryptography``), kept as a secret in a GitHub environment whose
deployment branches are the default branch only; the sealed file can then be committed.

Format: the line ``mlgate-sealed 1``, then one Fernet token per line, each sealing up to 4 MiB
of the file behind an 8-byte chunk index and a last-chunk flag. Fernet authenticates each
token; the index and flag, inside the authenticated plaintext, make a reordered, dropped or
appended chunk an error too. Chunks keep memory flat for a holdout of many gigabytes (one
Fernet token would hold the whole file, base64-encoded, in memory).

Nothing here reads the environment or prints a key: callers pass the key in and name where it
came from (``key_source``) for messages.
"""

from __future__ import annotations

import os
from pathlib import Path
import struct

from ..errors import DataError, InputError
from ..paths import atomic_write

MAGIC = b"mlgate-sealed 1\n"


CHUNK_BYTES = 4 << 20


_HEAD = struct.Struct(">QB")  # chunk index, last-chunk flag


# The longest token line a chunk makes (base64 of version, time, IV, padded ciphertext, HMAC).
_MAX_LINE = 4 * ((1 + 8 + 16 + (_HEAD.size + CHUNK_BYTES) // 16 * 16 + 16 + 32 + 2) // 3) + 2


def new_key() -> str:
    """A fresh random key (32 bytes, url-safe base64), for ``mlgate seal --new-key``."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def _fernet(key: str, key_source: str):
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        # The message never quotes the value: it is (meant to be) a secret.
        raise InputError(f"{key_source}: not a key made by `mlgate seal --new-key` (32 url-safe "
                         "base64-encoded bytes)") from None


def seal_file(src: Path, dst: Path, key: str, *, key_source: str = "the key") -> None:
    """Encrypt ``src`` into ``dst`` (written atomically; ``dst`` must not be ``src``)."""
    fernet = _fernet(key, key_source)
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"{src}: file not found")
    if dst.exists() and dst.resolve() == src.resolve():
        raise InputError(f"{dst}: the sealed file must not replace its source")
    if not dst.parent.is_dir():
        raise InputError(f"{dst}: directory {str(dst.parent)!r} not found")
    with atomic_write(dst) as out, open(src, "rb") as fh:
        out.write(MAGIC)
        index, block = 0, fh.read(CHUNK_BYTES)
        while True:
            following = fh.read(CHUNK_BYTES)
            last = not following
            out.write(fernet.encrypt(_HEAD.pack(index, last) + block) + b"\n")
            if last:
                break
            index, block = index + 1, following


def unseal_file(src: Path, dst: Path, key: str, *, label: str, key_source: str) -> None:
    """Decrypt ``src`` into ``dst``, created with mode 0600; on any error ``dst`` is removed.

    Errors name ``label`` (the file as the policy names it) and ``key_source``, never the key.
    """
    from cryptography.fernet import InvalidToken

    fernet = _fernet(key, key_source)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise DataError(f"{label}: not a file sealed by `mlgate seal` (data.key is set)")
            index = 0
            while True:
                line = fh.readline(_MAX_LINE)
                if not line:
                    raise DataError(f"{label}: the sealed file is truncated (chunk {index} is missing)")
                if not line.endswith(b"\n"):
                    raise DataError(f"{label}: the sealed file is damaged (chunk {index} is malformed)")
                try:
                    plain = fernet.decrypt(line.rstrip(b"\n"))
                except InvalidToken:
                    what = "the wrong key, or the file was changed" if index == 0 else "the file was changed"
                    raise DataError(f"{label}: cannot decrypt with the key in {key_source} ({what})") from None
                number, last = _HEAD.unpack_from(plain) if len(plain) >= _HEAD.size else (-1, 0)
                if number != index:
                    raise DataError(f"{label}: the sealed file is damaged (chunk {index} is out of order)")
                out.write(memoryview(plain)[_HEAD.size:])
                if last:
                    break
                index += 1
            if fh.read(1):
                raise DataError(f"{label}: the sealed file is damaged (data after its last chunk)")
    except BaseException:
        Path(dst).unlink(missing_ok=True)
        raise
