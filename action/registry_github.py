"""The model registry on GitHub Releases — the one to use in Actions, where the workspace is
thrown away with the runner.

One release per version, tagged ``<tag_prefix><n>``, with the artifact and ``result.json`` as
assets; ``production`` is GitHub's "latest release" marker. A release is created as a draft,
its assets uploaded, and only then published and marked latest, so an interrupted promotion
never leaves a "latest" release without its model. Version metadata (SHA-256, who, why, and
which version was production before) lives in the release body as one JSON comment.

What "held" means here (an alias never held is a typo, never "no production model"): the
backend can hold only ``production`` — held once any model release is published, since mlgate
marks each one latest as it publishes it, and never cleared while one exists (model releases
with none of them latest fail closed) — and ``previous``, held once a release's metadata names
one. Any other alias can never exist on GitHub Releases, so it is refused even before the first
release; ``canary`` is managed by mlgate and reads as "none".
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from github import GithubException

from ..gates.errors import RegistryError
from ..gates.paths import sha256_file
from ..gates.registry.base import MANAGED_ALIASES, UnknownAlias, Version, unset_alias

from .github_api import GitHubForge, api_errors

META = re.compile(r"<!-- mlgate:version (\{.*?\}) -->", re.S)
ALIASES = ("production", "previous")  # the only aliases a release can carry


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
            if self._releases():
                # Model releases exist but none is latest (e.g. all made pre-releases):
                # production is unknown, never "none".
                raise RegistryError(f"{self.describe()}: no release is marked latest; mark the production "
                                    f"model's release ({self.prefix}N) as latest") from None
            return None
        match = re.match(rf"^{re.escape(self.prefix)}(\d+)$", tag or "")
        if match:
            return int(match.group(1))
        if self._releases():
            # Someone marked another release "latest": production is unknown, never "none".
            raise RegistryError(f"{self.describe()}: the latest release {tag!r} is not a model version; "
                                f"mark the production model's release ({self.prefix}N) as latest")
        return None

    def aliases(self) -> dict[str, int]:
        production = self._latest()
        if production is None:
            return {}
        out = {"production": production}
        previous = self._meta(self._releases()[production]).get("previous")
        if previous is not None:
            out["previous"] = int(previous)
        return out

    def held_aliases(self) -> set[str]:
        releases = self._releases()
        held = {"production"} if releases else set()
        if any(self._meta(r).get("previous") is not None for r in releases.values()):
            held.add("previous")
        return held

    def resolve(self, alias: str) -> Version | None:
        current = self.aliases()
        if alias not in ALIASES and alias not in MANAGED_ALIASES:
            has = ", ".join(f"{name} (v{number})" for name, number in sorted(current.items())) or "none yet"
            raise UnknownAlias(f"{self.describe()} cannot hold the alias {alias!r}; its aliases are production "
                               f"(the latest release) and previous, and it has {has}")
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
        if alias != "production":
            raise RegistryError(f"{self.describe()}: only the production alias exists on GitHub Releases")
        digest = sha256_file(artifact)
        releases = self._releases()
        current = self._latest()
        for number, release in releases.items():
            if self._meta(release).get("sha256") == digest:  # an identical artifact is not stored twice
                if number != current:
                    self._mark_latest(release, previous=current)
                return self.get(number)
        number = self._highest_tag() + 1
        asset = f"model{artifact.suffix}"
        meta = {"sha256": digest, "asset": asset, "source": source, "promoted_by": by, "pr": pr, "reason": reason,
                "metrics": metrics or {}, "result_sha256": result_sha256, "previous": current,
                "holdout_sha256": holdout_sha256}
        said = " ".join(reason.split()).replace("<", "&lt;").replace(">", "&gt;")
        body = f"Model version {number}, promoted by @{by}" + (f" from #{pr}" if pr else "") + \
            (f": {said}" if said else "") + f"\n\n{self._meta_comment(meta)}\n"
        draft = self.repo.create_git_release(f"{self.prefix}{number}", name=f"Model v{number}", message=body,
                                             draft=True, make_latest="false")
        draft.upload_asset(str(artifact), name=asset, content_type="application/octet-stream")
        if result_json is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "result.json"
                path.write_bytes(result_json)
                draft.upload_asset(str(path), name="result.json", content_type="application/json")
        draft.update_release(name=f"Model v{number}", message=body, draft=False, make_latest="true")
        return self.get(number)

    @api_errors("roll back the production release")
    def rollback(self, to: int | None = None, *, by: str, reason: str = "", alias: str = "production") -> Version:
        aliases = self.aliases()
        current = aliases.get("production")
        to = aliases.get("previous") if to is None else int(to)
        if to is None:
            raise RegistryError(f"{self.describe()}: no previous version to roll back to")
        releases = self._releases()
        if to not in releases:
            raise RegistryError(f"{self.describe()}: no version {to}")
        if to == current:
            raise RegistryError(f"{self.describe()}: version {to} is already production")
        self._mark_latest(releases[to], previous=current)
        return self.get(to)

    def _mark_latest(self, release, *, previous: int | None) -> None:
        meta = {**self._meta(release), "previous": previous}
        head = META.sub("", release.body or "").rstrip()
        body = f"{head}\n\n{self._meta_comment(meta)}\n"
        release.update_release(name=release.title or release.tag_name, message=body, draft=False, make_latest="true")
