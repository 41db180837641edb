"""Every safety-net pattern (integrity/content/safety.yml) and the normalisation before matching, tested directly.

Each pattern has messages it must catch and harmless ones it must leave alone; a pattern added without examples
here fails `test_every_pattern_has_examples`.
"""

from __future__ import annotations

import pytest

from integrity.content import default_content
from integrity.profiles import get_profile
from integrity.routing import decide
from integrity.textnorm import normalise

SUICIDAL, ACUTE = "noodsituatie_suicidaal", "noodsituatie"
# (route, pattern index): (messages it must catch, harmless messages no pattern may catch)
EXAMPLES: dict[tuple[str, int], tuple[list[str], list[str]]] = {
    (SUICIDAL, 0): (["ik denk aan zelfmoord", "ik ben levensmoe", "gedachten over zelfdoding"],
                    ["wat is het nummer van de zelfmoordlijn?"]),
    (SUICIDAL, 1): (["soms wil ik mezelf iets aandoen", "ik ga mezelf wat aan doen"],
                    ["wat mijn collega's me aandoen is pesten"]),
    (SUICIDAL, 2): (["ik ben van plan om me iets aan te doen", "k wil me iets aandoen"],
                    ["ze gaan me iets aanrekenen voor die fout"]),
    (SUICIDAL, 3): (["ik wil mezelf van kant maken", "ik denk eraan mezelf van het leven te beroven"],
                    ["ik moet mezelf van die stress afschermen"]),
    (SUICIDAL, 4): (["ik wil een einde aan mijn leven maken"], ["er komt een einde aan mijn contract"]),
    (SUICIDAL, 5): (["ik wil niet meer leven", "soms wil ik niet meer leven"],
                    ["ik wil niet meer in dat team werken", "ik kan niet meer leven met die onzekerheid"]),
    (SUICIDAL, 6): (["ik wil er niet meer zijn"], ["ik wil er niet meer bij zijn op die vergadering"]),
    (SUICIDAL, 7): (["ik wil gewoon dood", "k wou dood"], ["ik ben dood op", "ik wil dood moe naar huis"]),
    (SUICIDAL, 8): (["ik denk eraan mijn dienstwapen tegen mezelf te gebruiken"],
                    ["ik moet mijn dienstwapen laten nakijken"]),
    (SUICIDAL, 9): (["ik snij mezelf als het te veel wordt", "k kras me soms"], ["ik snij de taart aan op de dienst"]),
    (SUICIDAL, 10): (["ik heb mijn dienstwapen gisteren tegen mijn hoofd gezet"],
                     ["het wapen ligt tegen mijn zin in de kluis"]),
    (SUICIDAL, 11): (["mijn gezin zou beter af zijn zonder mij"], ["het team is beter af zonder die oude software"]),
    (SUICIDAL, 12): (["ik wil er een einde aan maken", "ik denk eraan om er een eind aan te maken",
                      "ik loop rond met de gedachte om er een einde aan te maken"],
                     ["we moeten een einde maken aan dat geroddel", "hoe kan ik er een einde aan maken?",
                      "we willen er een einde aan maken dat er gefraudeerd wordt"]),
    (SUICIDAL, 13): (["ik heb donkere gedachten als ik mijn dienstwapen vasthoud"],
                     ["na die dienst had ik donkere gedachten over mijn carrière"]),
    (SUICIDAL, 14): (["ze zei dat ze er morgen een einde aan maakt", "hij wil er vannacht een eind aan maken"],
                     ["hij maakt er een einde aan, aan dat gepest", "ze wil er een einde aan maken dat ze pesten"]),
    (SUICIDAL, 15): (["soms wil ik voorgoed weg zijn", "ik wil stoppen ermee voorgoed"],
                     ["ik wil voorgoed weg zijn uit dat team", "ik wil voor altijd weg zijn van die dienst",
                      "ik stop ermee voor altijd met roken"]),
    (SUICIDAL, 16): (["een ploegmaat zei dat hij zich iets gaat aandoen", "ze wil zich wat aandoen"],
                    ["hij trekt zich niets aan van de regels"]),
    (ACUTE, 0): (["er staat een man met een mes aan de balie, help", "hij zwaait met een pistool, snel"],
                 ["we kregen een opleiding over het dragen van een wapen",
                  "mijn collega heeft een wapen als sportschutter, moet ik dat nu melden?"]),
    (ACUTE, 1): (["gijzeling in het stadskantoor", "bommelding in ons gebouw"],
                 ["vorig jaar was er een bommelding, hoe verliep dat", "hoe oefenen we een bomalarm: oefening"]),
    (ACUTE, 2): (["help, een bezoeker slaat nu mijn collega", "hij bedreigt me nu aan de deur"],
                 ["mijn chef bedreigt me nu al maanden", "hij slaat nu en dan met de deur",
                  "mijn chef bedreigt me met ontslag als ik het meld, wat nu?",
                  "mijn collega steekt geld in zijn eigen zak, wat moet ik nu doen?",
                  "ze slaan mijn voorstellen af en nu weer"]),
    (ACUTE, 3): (["hulp! hij vecht met een klant hier aan het loket"], ["ik vroeg hulp bij het vechten tegen stress"]),
    (ACUTE, 4): (["ik word op dit moment bedreigd door een klant"], ["op dit moment is er veel stress op de dienst"]),
    (ACUTE, 5): (["schietpartij aan het station, help", "ik hoor daarbuiten schoten"],
                 ["we hebben een schietoefening op de schietstand", "na het schietincident vorig jaar heb ik stress"]),
}


def patterns() -> dict[tuple[str, int], object]:
    return {(route, i): p for route, ps in default_content().safety.items() for i, p in enumerate(ps)}


def test_every_pattern_has_examples() -> None:
    assert set(EXAMPLES) == set(patterns()), "a safety pattern was added or removed without its examples"


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_pattern_catches_its_examples(key: tuple[str, int]) -> None:
    pattern = patterns()[key]
    for message in EXAMPLES[key][0]:
        assert pattern.search(normalise(message)), f"{key} misses {message!r}"  # type: ignore[attr-defined]
        assert default_content().safety_route(normalise(message)).name == key[0]  # type: ignore[union-attr]


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_harmless_messages_pass_every_pattern(key: tuple[str, int]) -> None:
    for message in EXAMPLES[key][1]:
        assert default_content().safety_route(normalise(message)) is None, message


@pytest.mark.parametrize(("raw", "plain"), [
    ("Ik wil NIET méér leven", "ik wil niet meer leven"),
    ("  ik\twil \n  er niet meer  zijn ", "ik wil er niet meer zijn"),
    ("Zelfmoord’gedachten", "zelfmoord'gedachten"),
    ("Ça va, één keer", "ca va, een keer"),
    ("", ""),
])
def test_normalise(raw: str, plain: str) -> None:
    assert normalise(raw) == plain


def test_routing_matches_the_normalised_text() -> None:
    # Raw, this has upper case, accents and a line break the patterns do not expect; only normalised does it match.
    raw = "Ik wil  MEZELF\niets áándoen"
    assert default_content().safety_route(raw) is None
    decision = decide({"text": raw, "intent": {"name": "out_of_scope", "confidence": 0.9}},
                      get_profile("vlaamse-overheid"))
    assert decision.emergency and decision.route == SUICIDAL
    assert "1813" in decision.reply.splitlines()[0]
