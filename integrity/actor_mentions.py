"""Which actor a message names, from the profile's own names and aliases (no second list, no trained model).

Words are compared after `textnorm.normalise`, split on anything but letters, digits, `&` and `/`, with articles,
possessives and "voor/van/ter" left out on both sides ("de contactpersoon voor integriteit" = "contactpersoon
integriteit"). Cheap tolerance for how people really type:
- a word of at least `FUZZY_MIN` letters may differ by one edit (a letter dropped, added, changed, or two
  swapped: "vetrouwenspersoon", "integritiet"); shorter words ("vp", "hr", "chef", "audit") must match exactly,
  because one edit turns them into other words. Candidates come from a table of one-letter deletions (the SymSpell
  idea), so a message costs a few dictionary look-ups per word, not an edit-distance matrix per alias;
- a word typed in two ("vertrouwens persoon", "spreek buis") or an alias typed as one ("auditvlaanderen");
- a plural or genitive "s" on a one-word alias ("vps", "spocs"; not "pas" for "pa" of "pa psychosociaal").
When several aliases occur, the longest wins ("preventieadviseur psychosociale aspecten" over "preventieadviseur").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from integrity.profiles import Profile
from integrity.textnorm import normalise

FUZZY_MIN = 6
_SPLIT = re.compile(r"[^a-z0-9&/]+")
_FILLERS = frozenset(("de", "het", "een", "ne", "nen", "den", "mijn", "mijne", "onze", "ons", "je", "uw",
                      "voor", "van", "ter"))


def words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _SPLIT.split(normalise(text)) if w and w not in _FILLERS)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance at most 1 (one insertion, deletion, substitution or adjacent swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


@dataclass(frozen=True)
class Mention:
    actor: str
    start: int  # word index in the message (fillers left out)
    alias: str


@dataclass
class _Node:
    next: dict[str, _Node] = field(default_factory=dict)
    actor: str | None = None
    alias: str = ""


class ActorMatcher:
    def __init__(self, aliases: Iterable[tuple[str, str]]) -> None:
        """`aliases`: (actor id, alias) pairs; the first actor of an alias keeps it."""
        self._root = _Node()
        for actor, alias in aliases:
            key = words(alias)
            for variant in {key, ("".join(key),)} if len(key) > 1 else {key}:
                self._add(variant, actor, " ".join(key))
        self._vocabulary: set[str] = set()
        self._collect(self._root)
        self._one_word = {word for word, node in self._root.next.items() if node.actor is not None}
        self._by_deletion: dict[str, set[str]] = {}
        for word in self._vocabulary:
            if len(word) >= FUZZY_MIN:
                for deleted in _deletions(word) | {word}:
                    self._by_deletion.setdefault(deleted, set()).add(word)

    def _add(self, key: tuple[str, ...], actor: str, alias: str) -> None:
        if not key:
            return
        node = self._root
        for word in key:
            node = node.next.setdefault(word, _Node())
        if node.actor is None:
            node.actor, node.alias = actor, alias

    def _collect(self, node: _Node) -> None:
        for word, child in node.next.items():
            self._vocabulary.add(word)
            self._collect(child)

    def spellings(self, word: str) -> set[str]:
        """The vocabulary words a message word can stand for."""
        if word in self._vocabulary:
            return {word}
        if word.endswith("s") and word[:-1] in self._one_word:
            return {word[:-1]}
        if len(word) < FUZZY_MIN:
            return set()
        candidates: set[str] = set()
        for variant in _deletions(word) | {word}:
            candidates |= self._by_deletion.get(variant, set())
        return {c for c in candidates if within_one_edit(word, c)}

    def _walk(self, steps: list[list[tuple[str, int]]], start: int, node: _Node, i: int) -> Iterator[Mention]:
        if node.actor is not None and i > start:
            yield Mention(node.actor, start, node.alias)
        if i < len(steps):
            for spelling, after in steps[i]:
                child = node.next.get(spelling)
                if child is not None:
                    yield from self._walk(steps, start, child, after)

    def mentions(self, text: str) -> list[Mention]:
        found = words(text)
        # Per message word, once: (vocabulary word, next position), for the word alone or joined with the next one.
        steps = [[(s, i + 1) for s in self.spellings(word)] +
                 ([(s, i + 2) for s in self.spellings(word + found[i + 1])] if i + 1 < len(found) else [])
                 for i, word in enumerate(found)]
        return [m for start in range(len(found)) for m in self._walk(steps, start, self._root, start)]

    def best(self, text: str) -> str | None:
        """The actor of the longest alias in the text (the first one on a tie), or None."""
        mentions = self.mentions(text)
        if not mentions:
            return None
        return max(mentions, key=lambda m: (len(m.alias), -m.start)).actor


@cache
def matcher_for(pairs: tuple[tuple[str, str], ...]) -> ActorMatcher:
    return ActorMatcher(pairs)


def profile_matcher(profile: Profile) -> ActorMatcher:
    """Every actor of the profile by its aliases, its name and its id ("audit_vlaanderen" -> "audit vlaanderen")."""
    return matcher_for(tuple((actor.id, alias) for actor in profile.actors.values()
                             for alias in (*actor.aliases, actor.name, actor.id.replace("_", " "))))
