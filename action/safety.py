"""What the action checks before it touches a pull request's files or runs its code.

Two questions, each answered in one place:

* May this PR file be read (and shown)? Only a regular file inside the workspace, reached
  without following a symlink, under a size cap. A PR can commit ``.github/mlgate.yml`` as a
  symlink to ``/proc/self/environ`` (the token) or to a huge device; the diff shown in the
  report would then carry it into the comment.
* Can PR code run here without reaching a credential? A train command runs PR code. It may
  only run where no token is reachable at all: none in this process's environment (a child can
  read ``/proc/<ancestor>/environ``, so scrubbing its own environment is not enough), none
  persisted by ``actions/checkout`` in the git configuration, no cloud identity token, and not
  the sealed holdout's secret.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

PR_FILE_CAP = 1_000_000
TOKEN_VARIABLES = ("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
# What actions/checkout (persist-credentials: true, the default) leaves in .git/config: an
# http extraheader (v4/v5), or an include of a credentials file kept elsewhere (v6); also any
# credential helper or a remote URL with credentials in it.
_GIT_CREDENTIALS = re.compile(r"extraheader|^\s*\[\s*include|^\s*helper\s*=|https?://[^/\s@]+@",
                              re.IGNORECASE | re.MULTILINE)
# mlgate's own settings that are not secrets; any other MLGATE_* variable may be one.
NOT_SECRET = {"MLGATE_SUPERVISED", "MLGATE_WRITE_INTERVAL"}


class NotReadable(Exception):
    """The PR's file is not a regular file inside the workspace under the cap (the reason)."""


def read_pr_file(workspace: Path, relative: str, *, cap: int = PR_FILE_CAP) -> str | None:
    """The text of ``relative`` in the PR's checkout, None when it does not exist.

    Raises ``NotReadable`` (with a reason fit to show) for a symlink anywhere on the path, a
    path leaving the workspace, a non-regular file, a file over ``cap`` or one that is not UTF-8.
    """
    root = Path(workspace)
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts or not parts:
        raise NotReadable("its path leaves the workspace")
    current = root
    for i, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise NotReadable(f"it cannot be inspected ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise NotReadable("it is a symbolic link" if i == len(parts) - 1 else "its path goes through a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise NotReadable("it is not a regular file")
    if info.st_size > cap:
        raise NotReadable(f"it is larger than {cap} bytes")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(current, flags)
    except OSError as exc:
        raise NotReadable(f"it cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped between lstat and open
            raise NotReadable("it is not a regular file")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise NotReadable(f"it is larger than {cap} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotReadable("it is not UTF-8 text") from None


def reachable_credentials(workspace: Path, env: dict[str, str], secret_variables: tuple[str, ...] = ()) -> list[str]:
    """Every credential PR code could reach from this job, each named (never its value).

    What this cannot see bounds it: in a container action the runner also mounts the Docker
    socket, through which code can reach the host and the job's own token — so the build job's
    token must itself be read-only (``permissions: contents: read``), as the README's build
    workflow declares. ``ACTIONS_RUNTIME_TOKEN`` (artifacts and caches of this very run) is
    not counted: the PR's code already runs in this job's other steps with it."""
    mlgate_secrets = tuple(name for name in env if name.startswith("MLGATE_") and name not in NOT_SECRET)
    names = dict.fromkeys((*TOKEN_VARIABLES, *secret_variables, *mlgate_secrets))
    found = [f"the environment variable {name}" for name in names if env.get(name, "").strip()]
    root = Path(workspace)
    configs = [root / ".git" / "config", *sorted((root / ".git" / "modules").glob("**/config")),
               *sorted(root.glob("*/.git/config"))]
    for config in configs:
        try:
            text = config.read_text(encoding="utf-8", errors="replace") if config.is_file() else ""
        except OSError:
            text = ""
        if _GIT_CREDENTIALS.search(text):
            found.append(f"{config.relative_to(root)} (credentials persisted by actions/checkout: use "
                         "persist-credentials: false)")
    home = env.get("HOME")
    if home and (Path(home) / ".git-credentials").exists():
        found.append(f"{home}/.git-credentials")
    return found
