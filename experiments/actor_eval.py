"""How well the profile aliases find the actor a message names (integrity/actor_mentions.py).

    .venv/bin/python -m experiments.actor_eval [NLU_FILE ...]

Scores the annotated actor mentions (`[de vp]{"entity": "actor", "value": "vertrouwenspersoon"}`) of the held-out
sets by default: a mention is right when the matcher, with a profile that has that actor, returns that actor id.
Messages without an annotation count as false alarms when the matcher finds an actor anyway. The same run with
typo tolerance switched off shows what the one-edit matching adds.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import yaml

from experiments.nlu_data import plain_text
from integrity import actor_mentions
from integrity.profiles import Profile, get_profile

REPO = Path(__file__).resolve().parent.parent
HELD_OUT = (REPO / "tests/data/nlu_holdout.yml", REPO / "tests/data/nlu_holdout_v2.yml")
PROFILES = ("vlaamse-overheid", "federale-politie")
_ACTOR = re.compile(r'\[([^\]]+)\]\{"entity": "actor", "value": "([^"]+)"\}')


@dataclass(frozen=True)
class ActorScore:
    mentions: int
    right: int
    unannotated: int
    false_alarms: int
    misses: tuple[str, ...]
    alarms: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.right / self.mentions if self.mentions else 1.0


def annotated(paths: Iterable[Path]) -> list[tuple[str, str | None]]:
    """(plain text, annotated actor id or None) for every example of the files."""
    rows: list[tuple[str, str | None]] = []
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found = _ACTOR.search(line)
                    rows.append((plain_text(line[2:]), found.group(2) if found else None))
    return rows


def _profile_for(actor: str | None, profiles: list[Profile]) -> Profile:
    return next((p for p in profiles if actor in p.actors), profiles[0])


def score(rows: list[tuple[str, str | None]], *, fuzzy: bool = True) -> ActorScore:
    profiles = [get_profile(name) for name in PROFILES]
    misses: list[str] = []
    alarms: list[str] = []
    right = unannotated = 0
    with mock.patch.object(actor_mentions, "FUZZY_MIN", actor_mentions.FUZZY_MIN if fuzzy else 10_000):
        actor_mentions.matcher_for.cache_clear()
        for text, actor in rows:
            found = actor_mentions.profile_matcher(_profile_for(actor, profiles)).best(text)
            if actor is None:
                unannotated += 1
                if found and any(found in p.actors for p in profiles):
                    alarms.append(f"{text} -> {found}")
            elif found == actor:
                right += 1
            else:
                misses.append(f"{text} -> {found} (expected {actor})")
        actor_mentions.matcher_for.cache_clear()
    mentions = len(rows) - unannotated
    return ActorScore(mentions, right, unannotated, len(alarms), tuple(misses), tuple(alarms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, default=list(HELD_OUT))
    parser.add_argument("--show", action="store_true", help="list the misses and false alarms")
    args = parser.parse_args()
    rows = annotated(args.files)
    for name, fuzzy in (("exact aliases", False), ("aliases + one edit", True)):
        result = score(rows, fuzzy=fuzzy)
        print(json.dumps({"matching": name, "mentions": result.mentions, "accuracy": round(result.accuracy, 3),
                          "unannotated": result.unannotated, "false_alarms": result.false_alarms}))
        if args.show:
            print("\n".join(f"  miss: {m}" for m in result.misses))
            print("\n".join(f"  alarm: {a}" for a in result.alarms))


if __name__ == "__main__":
    main()
