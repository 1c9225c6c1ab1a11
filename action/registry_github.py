"""The model registry on GitHub Releases — the one to use in Actions, where the workspace is
thrown away with the runner.

One release per version, tagged ``<tag_prefix><n>``, with the artifact and ``result.json`` as
assets; ``production`` is GitHub's "latest release" marker. A release is created as a draft,
its assets uploaded, and only then published and marked latest, so an interrupted promotion
never leaves a "latest" release without its model. Version metadata (SHA-256, who, why, which
version was production before, and a ``history`` of every alias move with who and why) lives
in the release body as one JSON comment.

``canary`` is a published **pre-release** whose metadata says ``"canary": true`` (GitHub never
makes a pre-release latest, so a canary cannot become production by accident). Promoting to
``canary`` first clears the flag on any other release, then creates the release as above but
published as a pre-release, never latest. Ending a canary is one release update, hence atomic:
promoted, it stops being a pre-release and becomes latest with ``previous`` and the flag
cleared in the same request; rolled back or expired, only the flag is cleared (it stays a
pre-release, an old version).

The production history (what ``mlgate rollback`` walks back, see ``Registry.rollback``)
travels with the release marked latest: its metadata's ``production_before`` lists the versions
below it, oldest first, written in the same update that marks it latest, so the history and the
marker never disagree (``previous`` is the last of them). A release from before this field
reads as having ``previous`` alone below it.

What "held" means here (an alias never held is a typo, never "no production model"): the
backend can hold only ``production`` — held once a model release is published as production
(mlgate marks each one latest as it publishes it), and never cleared while one exists (model
releases with none of them latest fail closed) — ``previous``, held once a release's metadata
names one, and ``canary``. Any other alias can never exist on GitHub Releases, so it is refused
even before the first release; ``canary`` and ``previous`` are managed by mlgate and read as
"none" when unset. Canary pre-releases that never became production do not count as production
releases: a first model promoted to ``canary`` leaves "no production model yet".
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from github import GithubException

from ..gates.errors import RegistryError
from ..gates.paths import sha256_file
from ..gates.registry.base import (utc_now, MANAGED_ALIASES, CanaryEnd, Rollback, UnknownAlias, Version, done_before,
                                   history_step, rollback_target, unset_alias)

from .github_api import GitHubForge, api_errors

META = re.compile(r"<!-- mlgate:version (\{.*?\}) -->", re.S)
ALIASES = ("production", "previous", "canary")  # the only aliases a release can carry


HISTORY_KEEP = 50  # alias moves kept in a release's metadata


STANDING_KEEP = 500  # versions of the production history a release carries


class GitHubReleasesRegistry:
    def __init__(self, forge: GitHubForge, *, tag_prefix: str = "model-v", cache: Path | None = None):
        self.forge = forge
        self.settings = forge.settings
        self.repo = forge.repo
        self.prefix = tag_prefix
        self.cache = Path(cache or tempfile.mkdtemp(prefix="mlgate-registry-"))

    def describe(self) -> str:
        return f"GitHub releases of {self.settings.repository} ({self.prefix}N)"

    # -------------------------------------------------------------- reading

    @api_errors("list the registry's releases")
    def _releases(self) -> dict[int, object]:
        out = {}
        pattern = re.compile(rf"^{re.escape(self.prefix)}(\d+)$")
        for release in self.repo.get_releases():
            match = pattern.match(release.tag_name or "")
            if match and not release.draft:
                out[int(match.group(1))] = release
        return out

    @staticmethod
    def _meta(release) -> dict:
        matches = META.findall(release.body or "")
        if not matches:
            raise RegistryError(f"release {release.tag_name}: no mlgate metadata in its description")
        try:
            meta = json.loads(matches[-1])  # mlgate writes it last
        except json.JSONDecodeError:
            raise RegistryError(f"release {release.tag_name}: its mlgate metadata is not valid JSON") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str) or "asset" not in meta:
            raise RegistryError(f"release {release.tag_name}: its mlgate metadata lacks sha256/asset")
        return meta

    @staticmethod
    def _meta_comment(meta: dict) -> str:
        text = json.dumps(meta, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
        return f"<!-- mlgate:version {text} -->"

    @api_errors("list the registry's releases")
    def _highest_tag(self) -> int:
        """Highest version number among all releases, drafts included (an interrupted promotion
        leaves a draft whose tag must not be reused)."""
        pattern = re.compile(rf"^{re.escape(self.prefix)}(\d+)$")
        numbers = [int(m.group(1)) for r in self.repo.get_releases() if (m := pattern.match(r.tag_name or ""))]
        return max(numbers, default=0)

    def _version(self, number: int, release) -> Version:
        meta = self._meta(release)
        return Version(
            version=number, sha256=meta["sha256"], path=meta["asset"], created_at=meta.get("created_at", ""),
            source=meta.get("source", ""), metrics=meta.get("metrics"), result_sha256=meta.get("result_sha256"),
            promoted_by=meta.get("promoted_by"), pr=meta.get("pr"), reason=meta.get("reason"),
            holdout_sha256=meta.get("holdout_sha256"),
        )

    def versions(self) -> list[Version]:
        return [self._version(n, r) for n, r in sorted(self._releases().items())]

    def get(self, number: int) -> Version:
        release = self._releases().get(int(number))
        if release is None:
            raise RegistryError(f"{self.describe()}: no version {number}")
        return self._version(int(number), release)

    @api_errors("read the latest release")
    def _latest(self) -> int | None:
        try:
            tag = self.repo.get_latest_release().tag_name
        except GithubException as exc:
            if exc.status != 404:
                raise
            if self._production_releases():
                # Model releases exist but none is latest (e.g. all made pre-releases):
                # production is unknown, never "none".
                raise RegistryError(f"{self.describe()}: no release is marked latest; mark the production "
                                    f"model's release ({self.prefix}N) as latest") from None
            return None
        match = re.match(rf"^{re.escape(self.prefix)}(\d+)$", tag or "")
        if match:
            return int(match.group(1))
        if self._production_releases():
            # Someone marked another release "latest": production is unknown, never "none".
            raise RegistryError(f"{self.describe()}: the latest release {tag!r} is not a model version; "
                                f"mark the production model's release ({self.prefix}N) as latest")
        return None

    def _production_releases(self) -> list[int]:
        """Model releases that are or were production: all but canary pre-releases that never
        became production (mlgate records every move in the metadata's history)."""
        return [n for n, r in self._releases().items() if _was_production(self._meta(r))]

    def _canary(self, releases: dict) -> int | None:
        flagged = sorted(n for n, r in releases.items() if self._meta(r).get("canary") is True)
        if len(flagged) > 1:  # mlgate clears the old flag before it sets a new one
            raise RegistryError(f"{self.describe()}: versions {', '.join(map(str, flagged))} are all flagged canary "
                                "in their release metadata; there is one canary at a time")
        return flagged[0] if flagged else None

    def aliases(self) -> dict[str, int]:
        releases = self._releases()
        production = self._latest()
        canary = self._canary(releases)
        out = {} if canary is None else {"canary": canary}
        if production is None:
            return out
        out["production"] = production
        previous = self._meta(releases[production]).get("previous")
        if previous is not None:
            out["previous"] = int(previous)
        return out

    def held_aliases(self) -> set[str]:
        metas = [self._meta(r) for r in self._releases().values()]
        held = {"production"} if any(_was_production(m) for m in metas) else set()
        if any(m.get("previous") is not None for m in metas):
            held.add("previous")
        if any("canary" in m for m in metas):
            held.add("canary")
        return held

    def audit(self) -> list[dict]:
        """Every alias move the releases' metadata records (the last few per release), oldest first."""
        entries = [{**h, "version": n} for n, r in self._releases().items()
                   for h in (self._meta(r).get("history") or []) if isinstance(h, dict)]
        return sorted(entries, key=lambda e: str(e.get("at", "")))

    def resolve(self, alias: str) -> Version | None:
        current = self.aliases()
        if alias not in ALIASES and alias not in MANAGED_ALIASES:
            has = ", ".join(f"{name} (v{number})" for name, number in sorted(current.items())) or "none yet"
            raise UnknownAlias(f"{self.describe()} cannot hold the alias {alias!r}; its aliases are production "
                               f"(the latest release) and previous, plus canary (a flagged pre-release); it has {has}")
        number = current.get(alias)
        if number is None:
            return unset_alias(self.describe(), alias, empty=not self._releases(), current=current,
                               held=self.held_aliases())
        return self.get(number)

    @api_errors("download the model from its release")
    def fetch(self, version: Version) -> Path:
        release = self._releases()[version.version]
        asset = next((a for a in release.get_assets() if a.name == version.path), None)
        if asset is None:
            raise RegistryError(f"{self.describe()}: version {version.version} has no asset {version.path}")
        target = self.cache / str(version.version) / version.path
        target.parent.mkdir(parents=True, exist_ok=True)
        asset.download_asset(str(target))
        actual = sha256_file(target)
        if actual != version.sha256:
            target.unlink()
            raise RegistryError(
                f"{self.describe()}: version {version.version} asset {version.path} has SHA-256 {actual[:12]}…, "
                f"the release records {version.sha256[:12]}… (tampered or corrupt)"
            )
        return target

    # -------------------------------------------------------------- writing

    @api_errors("promote a model release")
    def promote(self, artifact: Path, *, source: str, by: str, reason: str = "", pr: int | None = None,
                metrics: dict | None = None, result_sha256: str | None = None, result_json: bytes | None = None,
                alias: str = "production", action: str = "promote", holdout_sha256: str | None = None) -> Version:
        """Store ``artifact`` (an identical one is reused) and point ``alias`` at it: production
        marks its release latest; canary flags it (a pre-release unless it is production) after
        clearing the flag on any other release."""
        if alias not in ("production", "canary"):
            raise RegistryError(f"{self.describe()}: only the production and canary aliases can be set on GitHub Releases")
        digest = sha256_file(artifact)
        releases = self._releases()
        current = self._latest()
        canary = alias == "canary"
        existing = next((n for n, r in releases.items() if self._meta(r).get("sha256") == digest), None)
        number = existing if existing is not None else self._highest_tag() + 1
        below = {} if canary else _below(history_step(self._standing(releases, current), number, rollback=False))
        was = current
        if canary:
            was = next((n for n, r in releases.items() if n != number and self._meta(r).get("canary") is True), None)
            self._clear_canaries(releases, keep=number, by=by, reason=reason)
        if existing is not None:  # an identical artifact is not stored twice
            release, meta = releases[existing], self._meta(releases[existing])
            if not canary and existing != current:
                self._rewrite(release, below, [_step(action, alias, by, reason, was)],
                              prerelease=False, make_latest="true")
            elif canary and meta.get("canary") is not True:  # production itself is flagged, never a pre-release
                self._rewrite(release, {"canary": True}, [_step(action, alias, by, reason, was)],
                              prerelease=existing != current)
            return self.get(existing)
        asset = f"model{artifact.suffix}"
        meta = {"sha256": digest, "asset": asset, "source": source, "promoted_by": by, "pr": pr, "reason": reason,
                "metrics": metrics or {}, "result_sha256": result_sha256, "previous": None, **below,
                "holdout_sha256": holdout_sha256, "published_as": alias,
                "history": [_step(action, alias, by, reason, was)]}
        if canary:
            meta["canary"] = True
        said = " ".join(reason.split()).replace("<", "&lt;").replace(">", "&gt;")
        body = f"Model version {number}, " + ("a canary, " if canary else "") + f"promoted by @{by}" + \
            (f" from #{pr}" if pr else "") + (f": {said}" if said else "") + f"\n\n{self._meta_comment(meta)}\n"
        draft = self.repo.create_git_release(f"{self.prefix}{number}", name=f"Model v{number}", message=body,
                                             draft=True, prerelease=canary, make_latest="false")
        draft.upload_asset(str(artifact), name=asset, content_type="application/octet-stream")
        if result_json is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "result.json"
                path.write_bytes(result_json)
                draft.upload_asset(str(path), name="result.json", content_type="application/json")
        draft.update_release(name=f"Model v{number}", message=body, draft=False, prerelease=canary,
                             make_latest="false" if canary else "true")
        return self.get(number)

    @api_errors("roll back the production release")
    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production",
                 request: str | None = None) -> Rollback:
        """Production one step back along the history its release carries, or to ``to`` (see
        ``Registry.rollback``): ONE update of the target release marks it latest and writes its
        history and ``previous``, so nothing lies between."""
        if alias != "production":
            raise RegistryError(f"{self.describe()}: only the production alias exists on GitHub Releases")
        releases = self._releases()
        current = self._latest()
        if done_before(self.audit(), request):
            target = current
        else:
            target = rollback_target(self.describe(), self._standing(releases, current), to)
            if target not in releases:
                raise RegistryError(f"{self.describe()}: no version {target}")
        if target != current:
            below = _below(history_step(self._standing(releases, current), target, rollback=True))
            self._rewrite(releases[target], below, [_step("rollback", "production", by, reason, current, request)],
                          prerelease=False, make_latest="true")
        return Rollback(production=self.get(target), changed=target != current, rolled_from=current,
                        previous=self.aliases().get("previous"))

    @api_errors("end a canary release")
    def end_canary(self, number: int, *, promote: bool, by: str, reason: str, action: str,
                   alias: str = "production") -> CanaryEnd:
        """End version ``number``'s canary (see ``Registry.end_canary``) in ONE update of its
        release, so no state lies between: promoted, it stops being a pre-release and becomes
        latest with ``previous`` and the flag cleared in the same request; otherwise only the
        flag is cleared. A rerun finds it latest and unflagged and changes nothing."""
        if alias != "production":
            raise RegistryError(f"{self.describe()}: only the production alias exists on GitHub Releases")
        number = int(number)
        releases = self._releases()
        if number not in releases:
            raise RegistryError(f"{self.describe()}: no version {number}")
        release, current = releases[number], self._latest()
        flagged = self._meta(release).get("canary") is True
        cleared = {"canary": False} if flagged else {}
        steps = [_step(action, "canary", by, reason, number)] if flagged else []
        if promote and current != number:
            below = _below(history_step(self._standing(releases, current), number, rollback=False))
            self._rewrite(release, {**below, **cleared},
                          [_step(action, "production", by, reason, current), *steps],
                          prerelease=False, make_latest="true")
        elif flagged:
            self._rewrite(release, cleared, steps, prerelease=release.prerelease)
        after = self.aliases()
        return CanaryEnd(changed=flagged or (promote and current != number), production=after.get("production"),
                         previous=after.get("previous"), canary=after.get("canary"))

    def _standing(self, releases: dict, current: int | None) -> list[int]:
        """Production's history, oldest first, as the latest release carries it."""
        if current is None or current not in releases:
            return []
        meta = self._meta(releases[current])
        below = meta.get("production_before")
        if not isinstance(below, list) or not all(isinstance(n, int) for n in below):
            below = [] if meta.get("previous") is None else [int(meta["previous"])]
        # Release text is editable by anyone with write access: a rollback never lands on a version
        # that does not exist or never served (a rejected canary named in an edited history).
        below = [n for n in below if n in releases and _was_production(self._meta(releases[n]))]
        return [*below, current]

    def _clear_canaries(self, releases: dict, *, keep: int, by: str, reason: str) -> None:
        """Before a new canary is set: clear the flag on every other release (each stays what it
        is; cut short here, there is simply no canary)."""
        for number, release in releases.items():
            if number != keep and self._meta(release).get("canary") is True:
                self._rewrite(release, {"canary": False}, [_step("canary-replaced", "canary", by, reason, number)],
                              prerelease=release.prerelease)

    def _rewrite(self, release, changes: dict, steps: list[dict], *, prerelease: bool, **flags) -> None:
        """One update of ``release``: its metadata with ``changes``, ``steps`` appended to its
        history, and ``prerelease``/``make_latest`` in the same request (PyGithub would send
        ``prerelease: false`` if it were left out)."""
        meta = {**self._meta(release), **changes}
        history = meta.get("history") if isinstance(meta.get("history"), list) else []
        meta["history"] = (history + steps)[-HISTORY_KEEP:]
        head = META.sub("", release.body or "").rstrip()
        body = f"{head}\n\n{self._meta_comment(meta)}\n"
        release.update_release(name=release.name or release.tag_name, message=body, draft=False,
                               prerelease=prerelease, **flags)


def _step(action: str, alias: str, by: str, reason: str, was: int | None, request: str | None = None) -> dict:
    """One entry of a release's history: an alias moved to it (or, for canary, cleared)."""
    step = {"at": utc_now(), "action": action, "alias": alias, "by": by, "reason": reason, "from": was}
    return {**step, "request": request} if request else step


def _below(history: list[int]) -> dict:
    """The metadata a release marked production carries: the history below it and ``previous``."""
    return {"production_before": history[:-1][-STANDING_KEEP:], "previous": history[-2] if len(history) > 1 else None}


def _was_production(meta: dict) -> bool:
    """Published as production (every release before canaries existed was), or moved there since."""
    history = meta.get("history") if isinstance(meta.get("history"), list) else []
    return meta.get("published_as", "production") != "canary" or any(
        isinstance(h, dict) and h.get("alias") == "production" for h in history)
