"""The Dutch notification mails, from `integrity/content/notifications.yml`: subject and plain-text body.

Only the kind, the reference and links go in: this module never sees report content (it takes no report).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integrity.errors import DataFileError
from integrity.notifications.models import Kind
from integrity.yamlfile import load_mapping, require

TEXTS = Path(__file__).resolve().parents[1] / "content" / "notifications.yml"
CASE_PATH = "/beheer/meldingen"
ACCOUNT_PATH = "/beheer/account"


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


@dataclass(frozen=True)
class Item:
    kind: Kind
    reference: str | None


@lru_cache(maxsize=1)
def texts(path: Path = TEXTS) -> dict[str, Any]:
    data = load_mapping(path)
    for key in ("subject_prefix", "greeting", "footer"):
        require(data, key, str, path)
    kinds = require(data, "kinds", dict, path)
    for kind in Kind:
        if kind == Kind.DIGEST:
            continue
        entry = require(kinds, kind.value, dict, path, "kinds")
        for key in ("subject", "line", "short"):
            require(entry, key, str, path, f"kinds.{kind.value}")
    require(require(data, "single", dict, path), "body", str, path, "single")
    digest = require(data, "digest", dict, path)
    for key in ("subject", "body", "item"):
        require(digest, key, str, path, "digest")
    return data


def mode_labels(cap: int, hour: int) -> dict[str, str]:
    """NotifyMode value -> Dutch label, in the order to offer them."""
    modes = require(texts(), "modes", dict, TEXTS)
    return {mode: str(require(modes, mode, str, TEXTS, "modes")).format(cap=cap, hour=hour)
            for mode in ("immediate", "daily", "off")}


def case_link(base_url: str, reference: str | None) -> str:
    return f"{base_url}{CASE_PATH}/{reference}" if reference else f"{base_url}{CASE_PATH}"


def _wrap(data: dict[str, Any], name: str, subject: str, body: str, base_url: str) -> Mail:
    footer = data["footer"].format(settings_link=f"{base_url}{ACCOUNT_PATH}")
    text = f"{data['greeting'].format(name=name)}\n\n{body}\n\n-- \n{footer}\n"
    return Mail(f"{data['subject_prefix']} {subject}", text)


def render(kind: Kind, reference: str | None, name: str, base_url: str, items: Sequence[Item] = ()) -> Mail:
    """The mail for one notification, or for a digest of `items`."""
    data = texts()
    if kind == Kind.DIGEST:
        if not items:
            raise DataFileError(str(TEXTS), "digest", "a digest needs at least one item")
        lines = [data["digest"]["item"].format(short=data["kinds"][item.kind.value]["short"],
                                               reference=item.reference or "-",
                                               link=case_link(base_url, item.reference)) for item in items]
        body = data["digest"]["body"].format(items="\n".join(lines), link=case_link(base_url, None))
        return _wrap(data, name, data["digest"]["subject"].format(count=len(items)), body, base_url)
    entry = data["kinds"][kind.value]
    line = entry["line"].format(reference=reference)
    body = data["single"]["body"].format(line=line, link=case_link(base_url, reference))
    return _wrap(data, name, entry["subject"].format(reference=reference), body, base_url)
