"""A maintainer's override, verified at its source every time it is used.

Every workflow in a repository comments as the same bot, including a same-repository PR's own
``pull_request`` workflow, which the PR's author can rewrite. So nothing mlgate (or anyone
posting as the bot) writes can grant an override. The only record is the maintainer's own
``/mlgate override <commit>:<candidate> <reason>`` comment, and whenever an override is about
to count (the check, a promotion) it is looked up again through the API:

* its author is not a bot and has the maintain or admin role *now* (the collaborator API);
* the comment was never edited (``updated_at == created_at``): people with write access can
  edit others' comments, and an edit could point the override elsewhere;
* the commit it names, in full, is the commit being judged;
* the candidate it names (the SHA-256 of the artifact the report showed) is the candidate
  being judged or promoted: a build re-run that uploads another artifact for the same commit,
  never judged, is not covered. A comment naming no candidate holds for nothing.

"Never edited" rests on GitHub's ``updated_at``, which the REST API moves on an edit of the
body; reactions are separate objects and leave it alone. Roles are looked up once per author
per use, however many override comments an author posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import commands
from .forge import Comment, Forge

OVERRIDING_ROLES = ("maintain", "admin")


@dataclass(frozen=True)
class Override:
    by: str
    reason: str
    at: str
    commit: str
    comment_url: str

    def record(self) -> dict:
        """The ``overridden`` field of result.json."""
        return {"by": self.by, "reason": self.reason, "at": self.at, "commit": self.commit,
                "comment_url": self.comment_url}


def verified_override(forge: Forge, pr: int, commit: str, candidate: str | None, *,
                      bot_login: str) -> Override | None:
    """The newest override comment on ``pr`` that holds for ``commit`` and ``candidate`` (the
    artifact's SHA-256) now, or None."""
    if not commit or not candidate:
        return None
    candidates = []
    for comment in forge.comments(pr):
        command = _override_command(comment, bot_login)
        if command is None or not names_commit(command.sha, commit) or command.candidate != candidate.lower():
            continue
        created = _time(comment.created_at)
        if created is None or _time(comment.updated_at) != created:
            continue  # edited: the words may not be the author's
        candidates.append((created, comment, command))
    roles: dict[str, str] = {}
    for created, comment, command in sorted(candidates, key=lambda c: c[0], reverse=True):
        if comment.author not in roles:
            roles[comment.author] = forge.role(comment.author)
        if roles[comment.author] in OVERRIDING_ROLES:
            return Override(by=comment.author, reason=command.argument, at=comment.created_at, commit=commit,
                            comment_url=comment.url)
    return None


def names_commit(named: str, commit: str | None) -> bool:
    """``named`` (the full SHA the command gives) is ``commit``."""
    return bool(commit) and bool(named) and commit.lower() == named.lower()


def _override_command(comment: Comment, bot_login: str):
    if not comment.author or comment.author == bot_login or comment.author.endswith("[bot]"):
        return None
    command = commands.parse(comment.body)
    if command is None or command.name != "override" or command.error:
        return None
    return command


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
