"""Slash commands in PR comments: ``/mlgate run|promote|override <commit>:<candidate> <reason>|rollback [N]|help``.

Only the first line of a comment counts, so a command quoted in a reply (``> /mlgate …``) or
shown in a code block is never run. Who may run what is decided by the collaborator
permission API's ``role_name`` (its legacy ``permission`` field reports maintain as write).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..gates.escape import md_code

ROLES = ("none", "read", "triage", "write", "maintain", "admin")
REQUIRED_ROLE = {"help": "none", "run": "write", "promote": "write", "override": "maintain", "rollback": "maintain"}
_LEGACY = {"admin": "admin", "write": "write", "read": "read", "none": "none"}
PREFIX = "/mlgate"
MAX_REASON = 500
# An override names, in full, the commit and the candidate (SHA-256 of the artifact) it was given
# for: a short prefix can be matched by a commit made for the purpose (2^28 tries for 7 digits),
# and a commit alone can have another candidate uploaded for it. The report prints the command.
_TARGET = re.compile(r"^(?P<commit>[0-9a-fA-F]{40}|[0-9a-fA-F]{64})(?::(?P<candidate>[0-9a-fA-F]{64}))?$")

HELP = """\
**mlgate commands** (first line of a comment on a pull request):

| command | who | what |
|---|---|---|
| `/mlgate run` | write | re-run this PR's gate workflow on its head commit |
| `/mlgate promote` | write | promote this PR's approved candidate into the registry |
| `/mlgate override <commit>:<candidate> <reason>` | maintain | accept the blocked candidate the report names (the report prints the command), recording who and why |
| `/mlgate rollback [version]` | maintain | move production one step back along its history (or to the given version) |
| `/mlgate help` | anyone | this message |
"""


@dataclass(frozen=True)
class Command:
    name: str  # help | run | promote | override | rollback | unknown
    argument: str = ""  # override: the reason; rollback: the version
    error: str = ""  # a usage problem to reply with
    sha: str = ""  # override: the commit it names (all 40 hex digits, or 64 in a SHA-256 repository)
    candidate: str = ""  # override: the candidate artifact's SHA-256 it names ("" when not named)

    @property
    def required_role(self) -> str:
        return REQUIRED_ROLE.get(self.name, "none")


def parse(body: str | None) -> Command | None:
    """The command on the comment's first line, or None when the comment is not a command."""
    if not body:
        return None
    first = body.lstrip("\ufeff").strip().splitlines()[0].strip() if body.strip() else ""
    match = re.match(rf"^{re.escape(PREFIX)}(?:\s+(\S+))?(?:\s+(.*))?$", first)
    if match is None:
        return None
    name = (match.group(1) or "help").lower()
    argument = (match.group(2) or "").strip()
    if name not in REQUIRED_ROLE:
        return Command("unknown", name, f"unknown command {md_code(name[:40])}")
    if name == "override":
        target, _, reason = argument.partition(" ")
        match = _TARGET.match(target)
        if match is None:
            return Command(name, "", "`/mlgate override` names the commit and the candidate it accepts, then the "
                                     "reason: `/mlgate override <commit>:<candidate-sha256> <reason>` (the report "
                                     "prints the exact command)")
        sha, candidate = match.group("commit").lower(), (match.group("candidate") or "").lower()
        if not reason.strip():
            return Command(name, "", "`/mlgate override` needs a reason: `/mlgate override <commit>:<candidate-sha256> "
                                     "<reason>`", sha=sha, candidate=candidate)
        return Command(name, reason.strip()[:MAX_REASON], sha=sha, candidate=candidate)
    if name == "rollback":
        if argument and not (argument.isascii() and argument.isdigit()):
            return Command(name, argument, f"`/mlgate rollback` takes a version number, got {md_code(argument[:40])}")
        return Command(name, argument)
    return Command(name, "")


def effective_role(role_name: str | None, legacy_permission: str | None) -> str:
    """A custom repository role reports its own name: fall back to the legacy base permission."""
    if role_name in ROLES:
        return role_name
    return _LEGACY.get(legacy_permission or "none", "none")


def allowed(role: str, command: Command) -> bool:
    return ROLES.index(role) >= ROLES.index(command.required_role)
