"""Read Rasa NLU YAML files into (text, intent) examples without Rasa (pure Python + PyYAML, both venvs).

Entity annotations are stripped the way Rasa strips them: `[vp](actor)` and `[vp]{"entity": ...}` become `vp`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain_text(example: str) -> str:
    return ANNOTATION.sub(r"\1", example).strip()


def read_examples(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """All intent examples of the given NLU files, in file order, as (text, intent)."""
    examples: list[tuple[str, str]] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue  # synonyms, regexes, lookup tables
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((plain_text(line[2:]), intent))
    return examples


def nlu_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yml"))
