"""Start-up: how long mlgate works before the job it was asked to do, and where the time goes.

    python benchmarks/bench_startup.py [--python PY] [--runs 7] [--bytecode installed|none] [--top 12]

PY is the interpreter whose installed mlgate is measured (default: this one). The image's own
environment, without a Docker engine: ``python benchmarks/bench_image.py --keep DIR`` builds it
as the Dockerfile does, then pass ``--python DIR/venv/bin/python``.

(a) ``mlgate --help``: wall time, and the packages outside the standard library it imports
    (tests/test_cli_help.py keeps numerical ones out).
(b) ``mlgate action`` on a pull_request event (the one-job setup: a token, the base branch's policy
    read through the API) in the demo workspace (``mlgate demo``, scenario better), against
    tests/fake_github.py's server on loopback: from process start to the first log line, to the
    holdout's first open, to the first model file's open (model loading begins) and to exit.
(c) An issue_comment that is no command (every comment on a PR starts the job): to exit.
(d) ``/mlgate help`` in a comment: a privileged kind, so ``mlgate action`` supervises a child
    ``mlgate action`` (action/deadline.py): to exit.
(e) ``python -X importtime`` of run (b): imports by package and the slowest modules; and what
    compiling the standard-library modules that run imports costs (python:3.11-slim ships the
    standard library without .pyc files; the Dockerfile's last RUN compiles it).

The instants in (b) come from an audit hook (``sys.addaudithook``: the first open of a .csv and
of a .skops file) that a ``sitecustomize`` on PYTHONPATH installs; it does nothing else. Each
timing is the minimum and the median over ``--runs`` runs of each scenario, interleaved: the
minimum estimates the cost on an idle machine (this one is shared). ``--bytecode none`` sets
PYTHONPYCACHEPREFIX to an empty directory and PYTHONDONTWRITEBYTECODE=1, so every module is
compiled from source on every run, as in an image built without bytecode.

Not a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_github import FakeGitHub  # noqa: E402  (standard library only)

EVENTS = ROOT / "tests" / "fixtures" / "github-events"
PR_REPO, CMD_REPO, COMMENT_ID, TOKEN = "Codertocat/Hello-World", "chmouel/scratchmyback", 840508083, "ghs_bench_token"
HEAVY = {"numpy", "pandas", "scipy", "sklearn", "pyarrow", "skops", "github"}

HOOK = '''
import os, sys, time
_path = os.environ.get("MLGATE_BENCH_MARKS")
_seen = set()
def _mark(kind, what=""):
    with open(_path, "a") as f:
        f.write(f"{os.getpid()} {kind} {time.time()!r} {time.process_time()!r} {what}\\n")
def _hook(event, args):
    if event == "open" and isinstance(args[0], str):
        for kind, suffix in (("holdout", ".csv"), ("model", ".skops")):
            if kind not in _seen and args[0].endswith(suffix):
                _seen.add(kind)
                _mark(kind, args[0])
if _path:
    sys.addaudithook(_hook)
'''

def command(python: Path) -> list[str]:
    script = python.parent / "mlgate"
    return [str(script)] if script.exists() else [str(python), "-m", "mlgate"]


def seeded_github(scenario: str, policy: str) -> FakeGitHub:
    gh = FakeGitHub().start()
    gh.add_token(TOKEN, login="github-actions[bot]")
    if scenario == "pull_request":
        pr = json.loads((EVENTS / "pull_request.opened.json").read_text())["pull_request"]
        gh.add_repo(PR_REPO, default_branch="master")
        gh.add_pull(PR_REPO, 2, pr["head"]["sha"], base_ref="master", base_sha=pr["base"]["sha"])
        gh.set_file(PR_REPO, ".github/mlgate.yml", policy, ref=pr["base"]["sha"])
    else:
        gh.add_repo(CMD_REPO)
        gh.add_pull(CMD_REPO, 1, "1b2c3d4e5f60718293a4b5c6d7e8f90112233445", user="chmouel")
        gh.add_comment(CMD_REPO, 1, "/mlgate help", user="chmouel", id=COMMENT_ID)
    return gh


def event_file(scenario: str, tmp: Path) -> tuple[str, Path]:
    if scenario == "pull_request":
        return "pull_request", EVENTS / "pull_request.opened.json"
    data = json.loads((EVENTS / "issue_comment.created.on-pull-request.json").read_text())
    if scenario == "help_comment":
        data["comment"]["body"] = "/mlgate help"
    path = tmp / f"{scenario}.json"
    path.write_text(json.dumps(data))
    return "issue_comment", path


def run_once(python: Path, scenario: str, workspace: Path, tmp: Path, base_env: dict, *,
             extra_args: tuple[str, ...] = ()) -> dict:
    """One ``mlgate action``; seconds from process start to each mark, and its stderr."""
    name, path = event_file(scenario, tmp)
    marks = tmp / "marks.txt"
    marks.write_text("")
    gh = seeded_github(scenario, (workspace / ".github" / "mlgate.yml").read_text())
    try:
        env = {**base_env, "GITHUB_API_URL": gh.url, "GITHUB_REPOSITORY": PR_REPO if name == "pull_request" else CMD_REPO,
               "GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path), "GITHUB_WORKSPACE": str(workspace),
               "INPUT_GITHUB_TOKEN": TOKEN, "MLGATE_WRITE_INTERVAL": "0", "PYTHONUNBUFFERED": "1",
               "MLGATE_BENCH_MARKS": str(marks), "PYTHONPATH": str(tmp / "hook")}
        argv = [str(python), *extra_args, "-m", "mlgate", "action"] if extra_args else [*command(python), "action"]
        start = time.time()
        proc = subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        errors: list[str] = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()))  # importtime fills a pipe
        drain.start()
        first = proc.stdout.readline()
        first_at = time.time() - start if first else None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # CPU time too, its supervised child's included
        end = time.time() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        drain.join()
        err = errors[0]
    finally:
        gh.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{scenario}: mlgate action exited {proc.returncode}:\n{first}{out}{err[-3000:]}")
    times = {"first log line": (first_at, None), "exit": (end, usage.ru_utime + usage.ru_stime)}
    for line in marks.read_text().splitlines():
        pid, kind, at, cpu, *_ = line.split(" ", 4)
        if int(pid) == proc.pid:
            times.setdefault(f"{kind} opened", (float(at) - start, float(cpu)))
    return {"times": times, "first": first.strip(), "stderr": err}


def help_run(python: Path, base_env: dict) -> tuple[float, list[str]]:
    probe = ("import sys, time\nt = time.time()\nfrom mlgate.action.cli import main\ntry:\n    main(['--help'])\n"
             "except SystemExit:\n    pass\nimport json\n"
             "top = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)\n"
             "sys.stderr.write(json.dumps(sorted(t for t in top if not t.startswith('_'))))\n")
    start = time.time()
    proc = subprocess.run([str(python), "-c", probe], env=base_env, capture_output=True, text=True)
    elapsed = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return elapsed, json.loads(proc.stderr.strip().splitlines()[-1])


def help_wall(python: Path, base_env: dict) -> float:
    start = time.time()
    subprocess.run([*command(python), "--help"], env=base_env, capture_output=True, check=True)
    return time.time() - start


def importtime(stderr: str) -> list[tuple[int, int, str]]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(self_us), int(cumulative), name.rstrip()))
    return rows


def stdlib_compile_cost(python: Path, modules: list[str], base_env: dict) -> tuple[int, float]:
    """Seconds to compile the sources of the standard-library modules ``modules`` names."""
    probe = ("import importlib.util, json, sys, sysconfig, time\n"
             "stdlib = sysconfig.get_paths()['stdlib']\n"
             "n, spent = 0, 0.0\n"
             f"for name in {sorted(set(modules))!r}:\n"
             "    try:\n        spec = importlib.util.find_spec(name)\n    except Exception:\n        continue\n"
             "    origin = spec.origin if spec else None\n"
             "    if not origin or not origin.endswith('.py') or not origin.startswith(stdlib) or 'site-packages' in origin:\n"
             "        continue\n"
             "    source = open(origin, 'rb').read()\n"
             "    t = time.perf_counter(); compile(source, origin, 'exec'); spent += time.perf_counter() - t; n += 1\n"
             "print(json.dumps([n, spent]))\n")
    out = subprocess.run([str(python), "-c", probe], env=base_env, capture_output=True, text=True, check=True).stdout
    n, spent = json.loads(out.strip().splitlines()[-1])
    return n, spent


def summary(values: list) -> str:
    values = [v for v in values if v is not None]
    return f"{min(values):6.2f} / {statistics.median(values):6.2f}" if values else "     - /      -"


def both(pairs: list[tuple]) -> str:
    """Wall and CPU seconds, each as min / median."""
    return f"{summary([w for w, _ in pairs])}    {summary([c for _, c in pairs])}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bytecode", choices=["installed", "none"], default="installed")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    python = args.python.absolute()

    with tempfile.TemporaryDirectory(prefix="mlgate-bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "hook").mkdir()
        (tmp / "hook" / "sitecustomize.py").write_text(HOOK)
        base_env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"}
        if args.bytecode == "none":
            (tmp / "no-pyc").mkdir()
            base_env.update(PYTHONPYCACHEPREFIX=str(tmp / "no-pyc"), PYTHONDONTWRITEBYTECODE="1")
        workspace = tmp / "demo"
        subprocess.run([*command(python), "demo", "--out", str(workspace), "--quiet"], env=base_env, check=True)
        version = subprocess.run([*command(python), "--version"], env=base_env, capture_output=True, text=True).stdout
        print(f"{version.strip()} on {python} (bytecode: {args.bytecode}); {args.runs} runs each; "
              f"seconds from process start, min / median; CPU: user + system of the process and its children\n")

        helps, scenarios = [], {"pull_request": [], "ignored_comment": [], "help_comment": []}
        for _ in range(args.runs):
            helps.append(help_wall(python, base_env))
            for scenario, runs in scenarios.items():
                runs.append(run_once(python, scenario, workspace, tmp, base_env))
        _, imported = help_run(python, base_env)
        print(f"(a) mlgate --help                            {summary(helps)}")
        print(f"    imports outside the standard library: {', '.join(imported) or 'none'}")
        print(f"    numerical among them: {', '.join(sorted(HEAVY & set(imported))) or 'none'}\n")

        pr = scenarios["pull_request"]
        print(f"{'':44s} {'wall':^15s}    {'CPU':^15s}")
        print(f"(b) pull_request, one-job setup, demo workspace (first log line: {pr[0]['first']!r})")
        for key in ("first log line", "holdout opened", "model opened", "exit"):
            label = "first model opened (loading begins)" if key == "model opened" else key
            print(f"    {label:40s} {both([r['times'].get(key, (None, None)) for r in pr])}")
        for scenario, title in (("ignored_comment", "(c) issue_comment, no command: exit"),
                                ("help_comment", "(d) /mlgate help (supervised child): exit")):
            runs = scenarios[scenario]
            print(f"{title:44s} {both([r['times']['exit'] for r in runs])}   first line: {runs[0]['first'][:50]!r}")

        traced = run_once(python, "pull_request", workspace, tmp, base_env, extra_args=("-X", "importtime"))
        rows = importtime(traced["stderr"])
        by_package: dict[str, int] = defaultdict(int)
        for self_us, _, name in rows:
            by_package[name.strip().split(".")[0]] += self_us
        total = sum(by_package.values())
        print(f"\n(e) -X importtime of run (b): {len(rows)} modules, {total / 1e6:.2f} s of imports "
              "(importtime itself slows them)")
        print("    by package: " + ", ".join(f"{name} {us / 1e6:.2f}" for name, us in
                                            sorted(by_package.items(), key=lambda kv: -kv[1])[:args.top]))
        print("    slowest modules (self): " + ", ".join(f"{name.strip()} {s / 1e3:.0f} ms" for s, _, name in
                                                       sorted(rows, reverse=True)[:args.top]))
        n, spent = stdlib_compile_cost(python, [name.strip() for _, _, name in rows], base_env)
        print(f"    compiling the {n} standard-library modules it imports from source: {spent:.2f} s")


if __name__ == "__main__":
    main()
