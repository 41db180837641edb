"""The actor a message names, found with the profiles' aliases (integrity/actor_mentions.py)."""

from __future__ import annotations

import pytest

from experiments.actor_eval import HELD_OUT, annotated, score
from integrity.actor_mentions import ActorMatcher, profile_matcher, within_one_edit
from integrity.profiles import get_profile

VO = profile_matcher(get_profile("vlaamse-overheid"))
FP = profile_matcher(get_profile("federale-politie"))


@pytest.mark.parametrize(("text", "actor"), [
    ("hoe bereik ik de Vlaamse Ombudsdienst?", "vlaamse_ombudsdienst"),
    ("wie is de vetrouwenspersoon van mijn entiteit", "vertrouwenspersoon"),  # a letter dropped
    ("kan de preventieadvisuer mij helpen", "preventieadviseur_psychosociaal"),  # two letters swapped
    ("wat doet de vertrouwens persoon", "vertrouwenspersoon"),  # typed in two
    ("zit auditvlaanderen ook in brussel", "audit_vlaanderen"),  # alias typed as one word
    ("zijn de vps van mijn entiteit bereikbaar", "vertrouwenspersoon"),  # plural of a one-word alias
    ("wat doet de contactpersoon voor integriteit", "contactpersoon_integriteit"),  # "voor" left out
    ("de preventieadviseur psychosociale aspecten of de vp?", "preventieadviseur_psychosociaal"),  # longest wins
    ("moet ik dat aan P&O vragen", "personeelsdienst"),
])
def test_flemish_profile_finds_the_actor(text: str, actor: str) -> None:
    assert VO.best(text) == actor


@pytest.mark.parametrize("text", [
    "mijn pa is ziek en ik moet vaak thuisblijven",  # "pa" alone is a father, not the prevention adviser
    "ik heb mijn pas vergeten",
    "ik zit met een vraag over mijn contract",
    "hoe dien ik een klacht in",
])
def test_ordinary_words_are_no_actor(text: str) -> None:
    assert VO.best(text) is None


def test_short_words_need_an_exact_match() -> None:
    assert VO.best("ik heb een vraag voor de baaas") is None  # "baas" is too short for one edit
    assert VO.best("ik heb een vraag voor de baas") == "leidinggevende"


def test_each_profile_knows_only_its_own_actors() -> None:
    assert FP.best("wat doet het comitee p") == "comite_p"
    assert VO.best("wat doet het comite p") is None
    assert FP.best("kan ik naar spreekbuis bellen") is None


def test_first_actor_keeps_an_alias_two_actors_share() -> None:
    matcher = ActorMatcher([("a", "meldpunt"), ("b", "meldpunt")])
    assert matcher.best("het meldpunt") == "a"


@pytest.mark.parametrize(("a", "b", "near"), [
    ("spreekbuis", "spreekbus", True), ("spreekbuis", "sprekebuis", True), ("spreekbuis", "spreekbuiss", True),
    ("spreekbuis", "spreekbuuz", False), ("audit", "adit", True), ("integriteit", "integritiet", True),
    ("integriteit", "integriteitss", False),
])
def test_one_edit(a: str, b: str, near: bool) -> None:
    assert within_one_edit(a, b) is near


def test_held_out_actor_mentions_are_found() -> None:
    result = score(annotated(HELD_OUT))
    assert result.mentions >= 30
    assert result.accuracy >= 0.97, result.misses
