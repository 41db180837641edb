"""Answers to follow-up questions within the current topic (content/followups.yml, profiles' `followups:`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from integrity.content import CONTENT_DIR, Content, default_content, followup_texts
from integrity.profiles import Profile
from integrity.yamlfile import load_mapping, require

FOLLOWUPS_FILE = CONTENT_DIR / "followups.yml"


@lru_cache(maxsize=4)
def load_followups(path: Path = FOLLOWUPS_FILE) -> dict[str, dict[str, str]]:
    return followup_texts(require(load_mapping(path), "followups", dict, path), default_content(), path)


def lookup_keys(route: str | None, kind: str | None, stage: str | None) -> list[str]:
    """Most specific first: ROUTE.STAGE, KIND.STAGE, ROUTE, KIND, default."""
    keys = []
    if stage:
        keys += [f"{route}.{stage}" if route else "", f"{kind}.{stage}" if kind else ""]
    keys += [route or "", kind or "", "default"]
    return [k for k in keys if k]


def followup_text(name: str, profile: Profile, *, route: str | None, kind: str | None, stage: str | None,
                  texts: dict[str, dict[str, str]] | None = None) -> tuple[str, str] | None:
    """(key, text) of the best answer to follow-up `name` in the current topic: the profile's wording first."""
    common = (texts if texts is not None else load_followups()).get(name, {})
    own = profile.followups.get(name, {})
    for key in lookup_keys(route, kind, stage):
        if key in own:
            return key, own[key]
        if key in common:
            return key, common[key]
    return None


def stage_name(content: Content, kind: str | None, stage: int) -> str | None:
    ladder = content.stages.get(kind or "", ())
    return ladder[min(stage, len(ladder) - 1)] if ladder else None
