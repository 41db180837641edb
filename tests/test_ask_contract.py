"""bin/ask: the machine-readable contract of shared/contract/ask.md."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from devtools.stack import REPO, rasa_env
from integrity.ask import answer_all
from integrity.profiles import ACTOR_IDS, get_profile

TOPICS = {"integriteitsbeleid", "geschenken", "belangenvermenging", "nevenactiviteiten", "pesten",
          "ongewenst_seksueel_gedrag", "geweld_agressie", "discriminatie", "fraude_corruptie", "vertrouwelijkheid",
          "psychosociaal_welzijn", "melden", "actor_info", "noodsituatie", "smalltalk", "out_of_scope"}


async def fake_parse(text: str) -> dict:
    intent = "geschenken" if "wijn" in text else "out_of_scope"
    return {"text": text, "intent": {"name": intent, "confidence": 0.8},
            "intent_ranking": [{"name": intent, "confidence": 0.8}], "entities": []}


async def test_answers_keep_order_and_fields_and_survive_bad_lines() -> None:
    lines = ['{"id": "a", "text": "mag ik die wijn houden", "extra": 1}\n', "\n", "niet json\n",
             '{"id": "b"}\n', '{"id": "c", "text": "het weer"}\n']
    out = io.StringIO()
    bad = await answer_all(lines, fake_parse, get_profile("vlaamse-overheid"), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert bad == 2
    assert [r.get("id") for r in rows] == ["a", None, None, "c"]
    assert rows[0]["extra"] == 1 and rows[0]["topic"] == "geschenken"
    assert rows[0]["actors"][0] == "leidinggevende" and rows[0]["confidence"] == 0.8
    assert "line 3: not valid JSON" in rows[1]["error"]
    assert "line 4: expected an object" in rows[2]["error"]
    assert rows[3] == {"id": "c", "text": "het weer", "topic": "out_of_scope", "actors": [], "confidence": 0.8,
                       "reply": rows[3]["reply"]}


@pytest.mark.rasa
def test_bin_ask_with_the_trained_model() -> None:
    questions = [{"id": "q1", "text": "ik word gepest door mijn collega's"},
                 {"id": "q2", "text": "er is brand en iemand is gewond, help"},
                 {"id": "q3", "text": "wat is het weer morgen"}]
    stdin = "".join(json.dumps(q) + "\n" for q in questions)
    result = subprocess.run(["bin/ask", "--profile", "federale-politie"], input=stdin, cwd=REPO, env=rasa_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3"]
    for row in rows:
        assert set(row) == {"id", "text", "topic", "actors", "confidence", "reply"}
        assert row["topic"] in TOPICS and set(row["actors"]) <= set(ACTOR_IDS)
        assert 0 <= row["confidence"] <= 1 and row["reply"]
    assert rows[0]["topic"] == "pesten" and rows[0]["actors"][0] == "vertrouwenspersoon"
    assert rows[1]["topic"] == "noodsituatie" and rows[1]["actors"][0] == "noodhulp_112"
    assert rows[2]["topic"] == "out_of_scope" and rows[2]["actors"] == []


def test_bin_ask_rejects_an_unknown_profile_in_english() -> None:
    result = subprocess.run(["bin/ask", "--profile", "nergens"], input="", cwd=REPO, env=rasa_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert "no profile 'nergens'" in result.stderr and result.stdout == ""
