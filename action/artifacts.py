"""The build's ``mlgate-report`` artifact, as the judge takes it: only the candidate, on disk.

A pull request builds this zip, so it is read as hostile: it is downloaded to a file rather
than into memory (a 2 GB artifact on a 7 GB runner), only a member named ``candidate.<ext>`` in
one of the formats that load without running code from the file (skops, ONNX, XGBoost's and
LightGBM's native files; never a pickle) is taken — one, under its size cap counted while
copying (a zip's header can lie), written under mlgate's own name — and everything a malformed
archive raises (encrypted members, unknown compression, truncation) is an input error that is
replied to, never a crash.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from ..gates.config.spec import MODEL_FORMATS
from ..gates.errors import ConfigError
from ..gates.models.load import SAFE_SUFFIXES

ARTIFACT = "mlgate-report"
MAX_CANDIDATE_BYTES = 4 * 1024**3
_COPY_CHUNK = 1 << 20
_OTHERS = ", ".join(f"candidate{s}" for s in sorted(SAFE_SUFFIXES - {".skops"}))


def extract_candidate(archive: Path, into: Path, formats=("skops",)) -> Path:
    """Copy ``candidate.<ext>`` (a safe format the base policy's ``security.formats`` lists) out
    of the artifact zip at ``archive`` into ``into``; the zip is removed afterwards either way
    (a privileged job's temporary directory is removed too)."""
    try:
        return _extract(archive, into, formats)
    finally:
        Path(archive).unlink(missing_ok=True)


def _extract(archive: Path, into: Path, formats) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if Path(n).name.startswith("candidate.")]
            if not names:
                raise ConfigError(f"artifact {ARTIFACT}: no candidate file (expected candidate.skops, or "
                                  f"{_OTHERS})")
            if len(names) > 1:
                raise ConfigError(f"artifact {ARTIFACT}: {len(names)} candidate files; expected one")
            name = names[0]
            shown = repr(Path(name).name[:80])
            suffix = Path(name).suffix.lower()
            if suffix not in SAFE_SUFFIXES:
                raise ConfigError(f"artifact {ARTIFACT}: {shown} is not a skops, ONNX, XGBoost or LightGBM model "
                                  "file; a privileged job never loads pickles from a pull request")
            kind = next(k for k, suffixes in MODEL_FORMATS.items() if suffix in suffixes)
            if kind not in formats:
                raise ConfigError(f"artifact {ARTIFACT}: {shown} is a {kind} model; a privileged job loads from a pull "
                                  f"request only the formats the base branch's policy lists under security.formats "
                                  f"(now: {', '.join(formats)}); add {kind} there to accept it")
            if zf.getinfo(name).file_size > MAX_CANDIDATE_BYTES:
                raise ConfigError(f"artifact {ARTIFACT}: {shown} unpacks to more than {MAX_CANDIDATE_BYTES} bytes")
            into.mkdir(parents=True, exist_ok=True)
            target = into / f"candidate{suffix}"  # our own name: nothing from the zip picks the path
            copied = 0
            with zf.open(name) as member, open(target, "wb") as out:
                while block := member.read(_COPY_CHUNK):
                    copied += len(block)
                    if copied > MAX_CANDIDATE_BYTES:
                        raise ConfigError(f"artifact {ARTIFACT}: {shown} unpacks to more than {MAX_CANDIDATE_BYTES} bytes")
                    out.write(block)
            return target
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise ConfigError(f"artifact {ARTIFACT}: not a readable zip archive ({type(exc).__name__})") from None
    except RuntimeError as exc:  # zipfile's way of saying "encrypted, password required"
        kind = "encrypted" if "encrypt" in str(exc) else "corrupt"
        raise ConfigError(f"artifact {ARTIFACT}: cannot be unpacked ({kind} member)") from None
    except NotImplementedError:
        raise ConfigError(f"artifact {ARTIFACT}: uses a compression method mlgate does not unpack") from None
