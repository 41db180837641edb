"""bin/converse: the machine-readable contract of shared/contract/converse.md."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot.converse import events_of_last_turn, read_conversations, turn_result
from devtools.stack import REPO, rasa_env
from integrity.profiles import ACTOR_IDS

TOPICS = {"integriteitsbeleid", "geschenken", "belangenvermenging", "nevenactiviteiten", "pesten",
          "ongewenst_seksueel_gedrag", "geweld_agressie", "discriminatie", "fraude_corruptie", "vertrouwelijkheid",
          "psychosociaal_welzijn", "melden", "actor_info", "noodsituatie", "smalltalk", "out_of_scope", None}


def test_bad_lines_get_an_error_and_good_ones_pass() -> None:
    lines = ['{"id": "a", "turns": ["hallo"]}\n', "\n", "geen json\n", '{"id": "b", "turns": "hallo"}\n',
             '{"id": "c", "profile": "onbekend", "turns": []}\n', '{"id": "d", "profile": "federale-politie", '
             '"turns": ["x", "y"], "extra": 1}\n']
    rows = list(read_conversations(lines))
    assert [r[0]["id"] if r[0] else None for r in rows] == ["a", None, None, None, "d"]
    assert "line 3: not valid JSON" in rows[1][1]
    assert "line 4: expected an object with 'turns'" in rows[2][1]
    assert "line 5: unknown profile 'onbekend'" in rows[3][1]


def test_a_turn_takes_its_decision_from_the_first_bot_event_of_that_turn() -> None:
    events = [{"event": "user", "text": "oud"}, {"event": "bot", "metadata": {"decision": {"topic": "pesten"}}},
              {"event": "user", "text": "nieuw"}, {"event": "slot", "name": "x"},
              {"event": "bot", "metadata": {"decision": {"topic": "geschenken", "actors": ["leidinggevende"],
                                                         "emergency": False}}},
              {"event": "bot", "metadata": {}}]
    turn = turn_result("nieuw", [{"text": "a", "buttons": [{"title": "T", "payload": "/p"}]}, {"text": "b"}],
                       events_of_last_turn(events))
    assert turn == {"text": "nieuw", "reply": "a\nb", "buttons": [{"title": "T", "payload": "/p"}],
                    "topic": "geschenken", "actors": ["leidinggevende"], "emergency": False}
    inside_a_form = turn_result("iets", [{"text": "Wanneer?"}], [{"event": "bot", "metadata": {}}])
    assert inside_a_form["topic"] is None and inside_a_form["actors"] == [] and not inside_a_form["emergency"]


@pytest.mark.rasa
def test_bin_converse_drives_the_real_dialogue() -> None:
    conversations = [
        {"id": "c1", "turns": ["ik word al maanden gekleineerd door mijn collega's", "/kies_formeel",
                               "is dat anoniem?", "bedankt"], "note": "kept"},
        {"id": "c2", "profile": "federale-politie", "turns": ["help, er staat hier een man met een mes aan de balie"]},
        {"id": "bad"},
    ]
    stdin = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conversations)
    result = subprocess.run(["bin/converse"], input=stdin, cwd=REPO, env=rasa_env(), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 1, result.stderr[-3000:]  # one bad line
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and "error" in rows[2]
    first, second = rows[0], rows[1]
    assert first["id"] == "c1" and first["note"] == "kept" and len(first["turns"]) == 4
    for turn in first["turns"] + second["turns"]:
        assert set(turn) == {"text", "reply", "buttons", "topic", "actors", "emergency"}
        assert turn["topic"] in TOPICS and set(turn["actors"]) <= set(ACTOR_IDS) and turn["reply"]
    bullying, formal, anonymous, thanks = first["turns"]
    assert bullying["topic"] == "pesten" and bullying["actors"][0] == "vertrouwenspersoon"
    assert {b["payload"] for b in bullying["buttons"]} == {"/kies_informeel", "/kies_formeel"}
    assert formal["actors"][0] == "preventieadviseur_psychosociaal"
    assert anonymous["topic"] == "pesten" and "niet anoniem" in anonymous["reply"].lower()
    assert thanks["topic"] == "smalltalk" and thanks["actors"] == [] and not thanks["emergency"]
    assert second["turns"][0]["emergency"] and "112" in second["turns"][0]["reply"].splitlines()[0]
