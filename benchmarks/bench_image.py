"""The container image's size, measured without a Docker engine.

    python benchmarks/bench_image.py [--extras sql sql,onnx] [--keep DIR] [--no-gzip]

For each set of extras the Dockerfile's build stage runs here as written (tests/dockerfile.py:
its RUN lines with ``sh`` in a copy of what it copies, MLGATE_PREFIX pointing into a scratch
directory, a fresh venv standing in for the image's /usr/local), and the installed tree is
measured after each command: the install (wheels, no bytecode), the wheels' test suites
removed, the bytecode compiled. That tree is the one layer the image adds to python:3.11-slim,
whose size is not measured here but taken from docker-library/repo-info
(repos/python/local/3.11-slim.md: python:3.11.15-slim-trixie, linux/amd64, "Virtual Size
~ 124.84 Mb", the layers on disk; repos/python/remote/3.11-slim.md: 45.5 MB compressed). The
final stage also compiles the base's standard library; that bytecode is measured by compiling
a copy of this machine's Python 3.11 standard library the same way (without its test suites,
which the slim image does not ship).

Sizes are the bytes of the files (``du -b``: a registry layer is a tar of them); "gzip" is a
tar of the layer compressed at gzip's default level, about what a registry stores and a runner
pulls. ``--keep DIR`` leaves the first set's environment in DIR (DIR/venv/bin/python runs it;
benchmarks/bench_startup.py --python takes it).

Not a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dockerfile import build_like_the_image  # noqa: E402

BASE_MB, BASE_GZ_MB = 124.84, 45.5  # python:3.11-slim, linux/amd64 (docker-library/repo-info)
MB = 1e6


def tree_bytes(root: Path, *, suffix: str | None = None) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*")
               if (p.is_file() or p.is_symlink()) and (suffix is None or p.name.endswith(suffix)))


def gzip_bytes(root: Path) -> int:
    """A tar of ``root`` at gzip's default level, counted, not kept."""
    counter = _Counter()
    with tarfile.open(fileobj=counter, mode="w:gz") as tar:
        tar.add(root, arcname=".")
    return counter.size


class _Counter(io.RawIOBase):
    size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def packages(site: Path) -> list[tuple[str, int]]:
    """Installed bytes per distribution's top-level directories (a package and its .libs)."""
    sizes: dict[str, int] = defaultdict(int)
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", ".pth")) or entry.name == "__pycache__":
            continue
        name = entry.name.removesuffix(".libs").split(".")[0].split("-")[0]
        sizes[name] += tree_bytes(entry) if entry.is_dir() else entry.lstat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])


def stdlib_bytecode(tmp: Path) -> int:
    """The bytecode the final stage adds: this Python's standard library, copied without its test
    suites and bytecode, compiled as the Dockerfile's last RUN does."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    copy = tmp / "stdlib"
    shutil.copytree(stdlib, copy, ignore=shutil.ignore_patterns(
        "site-packages", "__pycache__", "test", "tests", "idle_test", "*.pyc"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(copy)], check=True, capture_output=True)
    return tree_bytes(copy, suffix=".pyc")


def measure(extras: str, tmp: Path, *, gzip: bool) -> dict:
    steps: list[tuple[str, int, int, int | None]] = []

    def after(command: str, prefix: Path) -> None:
        name = "compileall" if command.startswith("python") else command.split()[0]
        # The plain install is what the single-stage Dockerfile shipped (with no bytecode at all).
        steps.append((name, tree_bytes(prefix), tree_bytes(prefix, suffix=".pyc"),
                      gzip_bytes(prefix) if gzip and name == "pip" else None))

    built = build_like_the_image(tmp, extras=extras, after=after)
    [site] = built.prefix.glob("lib/python*/site-packages")
    return {"steps": steps, "layer": tree_bytes(built.prefix), "packages": packages(site),
            "gzip": gzip_bytes(built.prefix) if gzip else None, "venv": built.venv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", nargs="+", default=["sql", "sql,onnx"])
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--no-gzip", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mlgate-bench-image-") as tmp_name:
        tmp = Path(tmp_name)
        stdlib = stdlib_bytecode(tmp)
        print(f"python:3.11-slim: {BASE_MB:.1f} MB on disk, {BASE_GZ_MB:.1f} MB compressed (docker-library/repo-info); "
              f"its standard library's bytecode, compiled by the final stage: {stdlib / MB:.1f} MB\n")
        results = {}
        for i, extras in enumerate(args.extras):
            where = args.keep if (i == 0 and args.keep) else tmp / f"build-{i}"
            if where.exists():
                shutil.rmtree(where)
            where.mkdir(parents=True)
            results[extras] = r = measure(extras, where, gzip=not args.no_gzip)
            print(f"MLGATE_EXTRAS={extras}")
            labels = {"pip": "pip install (wheels, no bytecode)", "find": "the wheels' test suites removed",
                      "compileall": "bytecode compiled"}
            for command, size, pyc, gz in r["steps"]:
                print(f"    after {labels.get(command, command):36s} {size / MB:7.1f} MB   (bytecode {pyc / MB:5.1f} MB)"
                      + (f"   {gz / MB:.1f} MB tar.gz" if gz else ""))
            plain = r["steps"][0]
            print(f"    as the single-stage Dockerfile shipped it (the plain install: test suites, no bytecode): "
                  f"{BASE_MB + plain[1] / MB:.0f} MB on disk" + (f", {BASE_GZ_MB + plain[3] / MB:.0f} MB compressed"
                                                                 if plain[3] else ""))
            layer = r["layer"] + stdlib
            print(f"    image: {BASE_MB:.1f} + {r['layer'] / MB:.1f} (/install) + {stdlib / MB:.1f} (standard library "
                  f"bytecode) = {BASE_MB + layer / MB:.0f} MB on disk")
            if r["gzip"] is not None:
                print(f"    compressed: {BASE_GZ_MB:.1f} + {r['gzip'] / MB:.1f} (/install, tar.gz) + about "
                      f"{stdlib * r['gzip'] / r['layer'] / MB:.1f} = {BASE_GZ_MB + r['gzip'] / MB + stdlib * r['gzip'] / r['layer'] / MB:.0f} MB to pull")
            print("    largest: " + ", ".join(f"{name} {size / MB:.0f}" for name, size in r["packages"][:10]) + " (MB)\n")
        if len(results) > 1:
            base, *rest = args.extras
            for extras in rest:
                extra = results[extras]["layer"] - results[base]["layer"]
                gz = (f", {(results[extras]['gzip'] - results[base]['gzip']) / MB:.1f} MB compressed"
                      if results[base]["gzip"] is not None else "")
                added = sorted(set(dict(results[extras]["packages"])) - set(dict(results[base]["packages"])))
                print(f"{extras} over {base}: +{extra / MB:.1f} MB on disk{gz} ({', '.join(added)})")
        if args.keep:
            print(f"\nkept: {args.keep}/venv/bin/python (MLGATE_EXTRAS={args.extras[0]})")


if __name__ == "__main__":
    main()
