"""The Dutch texts of the channels themselves (`bot/texts.yml`), loaded and checked once for all of them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yml")
KEYS = ("unavailable", "rate_limited", "too_long", "not_text", "group_refusal", "privacy", "forgotten",
        "file_fetch_failed", "file_storage_down", "file_caption_ignored", "file_keep_hint", "file_photo_note")


@cache
def channel_texts(path: Path = TEXTS_FILE) -> dict[str, str]:
    """Key -> text; a missing one is an operator error at start, not at use."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [key for key in KEYS if not isinstance(data.get(key), str)]
    if missing:
        raise ValueError(f"{path}: missing channel texts: {', '.join(missing)}")
    return {key: data[key].strip() for key in KEYS}
