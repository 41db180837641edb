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


def lookup_keys(route: str | None, kind: str | None, stage: str | None, facts: list[str] | tuple[str, ...] = (),
                earlier: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Most specific first: @FACT (a situation that changes the answer, e.g. one's own conflict of interest),
    ROUTE.STAGE, KIND.STAGE, the same for earlier stages (the external psychosocial route is no more anonymous
    than the formal one), ROUTE, KIND, default."""
    keys = [f"@{fact}" for fact in facts]
    for step in (stage, *earlier):
        if step:
            keys += [f"{route}.{step}" if route else "", f"{kind}.{step}" if kind else ""]
    keys += [route or "", kind or "", "default"]
    return [k for k in keys if k]


def followup_text(name: str, profile: Profile, *, route: str | None, kind: str | None, stage: str | None,
                  facts: list[str] | tuple[str, ...] = (), earlier: list[str] | tuple[str, ...] = (),
                  texts: dict[str, dict[str, str]] | None = None) -> tuple[str, str] | None:
    """(key, text) of the best answer to follow-up `name` in the current topic: the profile's wording first."""
    common = (texts if texts is not None else load_followups()).get(name, {})
    own = profile.followups.get(name, {})
    for key in lookup_keys(route, kind, stage, facts, earlier):
        if key in own:
            return key, own[key]
        if key in common:
            return key, common[key]
    return None


def earlier_stages(content: Content, kind: str | None, stage: int) -> list[str]:
    """The stages before `stage` on the kind's ladder, latest first, without the first (informal) one."""
    ladder = content.stages.get(kind or "", ())
    return list(reversed(ladder[1:min(stage, len(ladder))]))


def stage_name(content: Content, kind: str | None, stage: int) -> str | None:
    ladder = content.stages.get(kind or "", ())
    return ladder[min(stage, len(ladder) - 1)] if ladder else None
