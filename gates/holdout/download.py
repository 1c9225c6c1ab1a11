"""Holdouts named by an https URL: downloaded once, size-capped, verified against the SHA-256
the policy pins, and cached by that hash.

The hash is what makes a URL safe to gate on: whoever controls the server cannot change the
rows a model is judged on without the policy (on the base branch) changing too.

A sealed holdout's request carries credentials (``headers``): they go to the URL's own origin
only — a redirect elsewhere (a signed storage URL, say) is followed without them — and every
redirect must stay on https. Where a sealed download is kept is the caller's choice (see
``holdout_source``); no message here quotes a header or a redirect target.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping
from urllib.parse import urljoin, urlparse

from ..errors import ConfigError, DataError, InfrastructureError
from ..paths import atomic_write

MAX_BYTES = 20 * 1024**3


TIMEOUT_S = 60


MAX_REDIRECTS = 5


_REDIRECTS = {301, 302, 303, 307, 308}


def fetch(url: str, sha256: str, cache: Path, *, max_bytes: int = MAX_BYTES,
          headers: Mapping[str, str] | None = None) -> Path:
    parsed = urlparse(url)
    if parsed.scheme != "https":
        raise ConfigError(f"data.holdout: only https URLs are fetched, got {url!r}")
    suffix = "".join(Path(parsed.path).suffixes[-2:]) or ".csv"
    target = Path(cache) / f"{sha256}{suffix}"
    if target.is_file() and _sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import requests

    digest = hashlib.sha256()
    size = 0
    try:
        with atomic_write(target, private=True) as out:  # renamed into place only once the pinned hash matches
            with _get(url, dict(headers or {})) as response:
                if response.status_code != 200:
                    hint = " (check the credential in data.headers)" if headers and response.status_code in (401, 403) else ""
                    raise DataError(f"data.holdout: {url} answered HTTP {response.status_code}{hint}")
                for block in response.iter_content(1 << 20):
                    size += len(block)
                    if size > max_bytes:
                        raise DataError(f"data.holdout: {url} is larger than {max_bytes} bytes; refusing to download more")
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != sha256:
                raise DataError(f"data.holdout: {url} has SHA-256 {digest.hexdigest()}, the policy pins {sha256} (data.sha256)")
        return target
    except requests.RequestException as exc:
        raise InfrastructureError(f"data.holdout: cannot download {url} ({type(exc).__name__})") from None


def _get(url: str, headers: dict):
    """GET following redirects by hand: https only, ``headers`` sent to ``url``'s origin only."""
    import requests

    origin = _origin(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response = requests.get(current, stream=True, timeout=TIMEOUT_S, allow_redirects=False,
                                headers=headers if _origin(current) == origin else None)
        if response.status_code not in _REDIRECTS or "Location" not in response.headers:
            return response
        response.close()
        current = urljoin(current, response.headers["Location"])
        if urlparse(current).scheme != "https":
            raise DataError(f"data.holdout: {url} redirects to a non-https URL; refusing to follow")
    raise DataError(f"data.holdout: {url} redirects more than {MAX_REDIRECTS} times")


def _origin(url: str) -> tuple:
    parsed = urlparse(url)
    return parsed.scheme, parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)


def _sha256(path: Path) -> str:
    from ..paths import sha256_file

    return sha256_file(path)
