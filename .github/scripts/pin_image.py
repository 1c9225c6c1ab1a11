"""Point action.yml at a pushed image by digest, for a release commit.

    python .github/scripts/pin_image.py [--action action.yml] ghcr.io/OWNER/REPO sha256:<64 hex>

The release workflow runs it after pushing the image: ``runs.image: Dockerfile`` becomes
``docker://ghcr.io/OWNER/REPO@sha256:…``, so ``uses: OWNER/REPO@v1.2.3`` pulls that exact image
instead of building one on every run (a tag on a registry can be moved; a digest cannot). Only
that one line changes; comments and layout stay. Running it again with the same digest changes
nothing; with another digest it re-pins.

Refused, exit 2 and nothing written: an image that is not a lower-case ghcr.io/OWNER/REPO name
(a tag or digest of its own, another registry, upper case), a digest that is not ``sha256:``
and 64 lower-case hex digits, an action.yml whose ``runs`` is not a docker action with exactly
one ``image:`` set to ``Dockerfile`` or to an image pinned by this script.

Standard library only: the release job runs it on the runner's own Python, before any install.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

# GitHub owner names: letters, digits and single inner hyphens, at most 39; repository names
# lower-cased as an image path component (Docker's grammar: separators . _ __ or dashes between
# alphanumeric runs). GHCR names are lower case only.
IMAGE = re.compile(r"ghcr\.io/[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
PINNED = re.compile(rf"docker://(?P<image>{IMAGE.pattern})@(?P<digest>{DIGEST.pattern})")
KEY = re.compile(r"^(?P<indent>\s+)(?P<key>[A-Za-z_][\w-]*):(?P<value>.*)$")


class Refused(Exception):
    """Input the release must not publish; the message names the value."""


def unquoted(value: str) -> str:
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def runs_block(lines: list[str]) -> range:
    """The line numbers of the top-level ``runs:`` mapping's body."""
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"runs:\s*(#.*)?", line.rstrip("\n"))]
    if len(starts) != 1:
        raise Refused(f"action.yml: expected one top-level 'runs:' mapping, found {len(starts)}")
    end = next((i for i in range(starts[0] + 1, len(lines))
                if lines[i].strip() and not lines[i][0].isspace() and not lines[i].startswith("#")), len(lines))
    return range(starts[0] + 1, end)


def pin(text: str, image: str, digest: str) -> str:
    """``text`` (action.yml) with ``runs.image`` set to ``docker://image@digest``."""
    if not IMAGE.fullmatch(image):
        raise Refused(f"image {image!r}: expected ghcr.io/<owner>/<repo> in lower case, without a tag or digest")
    if not DIGEST.fullmatch(digest):
        raise Refused(f"digest {digest!r}: expected sha256: and 64 lower-case hexadecimal digits")
    lines = text.splitlines(keepends=True)
    keys: dict[str, list[int]] = {}
    body = runs_block(lines)
    indent = min((len(lines[i]) - len(lines[i].lstrip()) for i in body if lines[i].strip()), default=0)
    for i in body:
        match = KEY.match(lines[i].rstrip("\n"))
        if match and len(match["indent"]) == indent:
            keys.setdefault(match["key"], []).append(i)
    using = [unquoted(KEY.match(lines[i].rstrip("\n"))["value"]) for i in keys.get("using", [])]
    if using != ["docker"]:
        raise Refused(f"action.yml: runs.using must be docker, found {using or 'none'}")
    if len(keys.get("image", [])) != 1:
        raise Refused(f"action.yml: expected one runs.image, found {len(keys.get('image', []))}")
    [at] = keys["image"]
    match = KEY.match(lines[at].rstrip("\n"))
    current = unquoted(match["value"])
    if current != "Dockerfile" and not PINNED.fullmatch(current):
        raise Refused(f"action.yml: runs.image is {current!r}; only Dockerfile or a pinned ghcr.io image is re-pinned")
    ending = lines[at][len(lines[at].rstrip("\r\n")):]
    lines[at] = f"{match['indent']}image: docker://{image}@{digest}{ending}"
    return "".join(lines)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` whole or not at all, keeping its mode (a release must not half-write)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pin_image", description=__doc__.split("\n\n")[0])
    parser.add_argument("image", help="ghcr.io/<owner>/<repo>, lower case")
    parser.add_argument("digest", help="sha256:<64 hex>, as the push reported it")
    parser.add_argument("--action", type=Path, default=Path("action.yml"), help="the action metadata file")
    args = parser.parse_args(argv)
    try:
        text = args.action.read_text(encoding="utf-8")
        pinned = pin(text, args.image, args.digest)
    except (Refused, OSError, UnicodeDecodeError) as exc:
        print(f"pin_image: error: {exc}", file=sys.stderr)
        return 2
    reference = f"docker://{args.image}@{args.digest}"
    if pinned == text:
        print(f"{args.action}: already pinned to {reference}")
        return 0
    write_atomic(args.action, pinned)
    print(f"{args.action}: runs.image pinned to {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
