"""Two Rasa servers, one conversation: consecutive messages alternate between server A and server B.

Both servers run the same trained model with the production endpoints file (deploy/endpoints.yml): the redacting
Redis tracker store with expiry and Rasa's Redis lock store, on a real redis-server started with
deploy/redis.conf. Neither server keeps a conversation in memory, so everything the dialogue needs on B (the
pending informal/formal question, a half-filled report form) must have come through Redis from A.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from integrity.reports import casework, db
from rasa_plugins.redaction import REDACTED
from tests.conftest import ReportStore, staff_reader
from tests.scale.conftest import TRACKER_PREFIX, Pair

pytestmark = pytest.mark.rasa
CODE = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
STORY = "De kassier neemt geld uit de kassa en schrijft het niet op. SCALE-STORY-42"
RECORD_EXP = 3600  # deploy/endpoints.yml
ROUNDS = 6  # messages sent to both servers at once, per person


def sender(kind: str) -> str:
    return f"scale-{kind}-{uuid.uuid4().hex}"


def joined(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def payloads(messages: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def slot_values(events: list[dict[str, Any]], name: str) -> list[Any]:
    return [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == name]


def test_the_informal_or_formal_question_asked_on_a_is_answered_on_b(pair: Pair) -> None:
    who = sender("choice")
    question = pair.say(pair.a, who, "mijn teamleider kleineert me al maanden waar iedereen bij is")
    assert payloads(question) == ["/kies_informeel", "/kies_formeel"]
    assert slot_values(pair.events(who), "pending_route") == ["pesten"], "server A stored the open question"

    formal = pair.say(pair.b, who, "/kies_formeel")
    assert "formeel verzoek" in formal[0]["text"]
    assert formal[1]["text"].startswith("Je kan terecht bij de preventieadviseur")
    # B answered for bullying, the topic A asked about; without it the choice falls back to general well-being.
    assert slot_values(pair.events(who), "last_route")[-1] == "pesten"
    assert slot_values(pair.events(who), "pending_route")[-1] is None

    alone = sender("choice")
    pair.say(pair.b, alone, "/kies_formeel")
    assert slot_values(pair.events(alone), "last_route")[-1] == "psychosociaal_welzijn", "control: no question"


def test_typed_informal_answer_on_b_after_the_question_on_a(pair: Pair) -> None:
    who = sender("typed")
    pair.say(pair.a, who, "een collega maakt steeds seksueel getinte grappen over mij")
    informal = pair.say(pair.b, who, "liever eerst informeel")
    assert informal[1]["text"].startswith("Je kan terecht bij de vertrouwenspersoon")
    assert slot_values(pair.events(who), "last_route")[-1] == "ongewenst_seksueel_gedrag"


@pytest.fixture
def private_key(report_store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in report_store.env.items():
        monkeypatch.setenv(name, value)
    return staff_reader()


def test_report_started_on_a_and_finished_on_b_is_stored_and_forgotten_by_redis(
        pair: Pair, report_store: ReportStore, private_key: Any) -> None:
    who = sender("report")
    servers = [pair.a, pair.b]
    steps = ["/melding_starten", "Fraude en corruptie", STORY, "elke vrijdag", "gebouw Herman Teirlinck", "Overslaan",
             "Overslaan", "Anoniem blijven", "Audit Vlaanderen"]
    reply: list[dict[str, Any]] = []
    for turn, text in enumerate(steps):
        reply = pair.say(servers[turn % 2], who, text)  # A, B, A, B, ...
    summary = joined(reply)
    assert "SCALE-STORY-42" in summary and "gebouw Herman Teirlinck" in summary and "Audit Vlaanderen" in summary
    in_progress = pair.stored(who)
    assert in_progress is not None and "SCALE-STORY-42" in in_progress, "the unfinished form lives in Redis"

    done = joined(pair.say(servers[len(steps) % 2], who, "Verzenden"))
    code = CODE.search(done)
    assert code, done

    with db.session_factory(report_store.database_url).begin() as session:
        contents = [casework.read_report(session, s.id, private_key).content for s in casework.list_reports(session)]
    mine = [c for c in contents if "SCALE-STORY-42" in c["what_happened"]]
    assert len(mine) == 1 and mine[0]["what_happened"] == STORY and mine[0]["where"] == "gebouw Herman Teirlinck"

    stored = pair.stored(who)
    assert stored is not None
    for secret in ("SCALE-STORY-42", "gebouw Herman Teirlinck", "elke vrijdag", code.group()):
        assert secret not in stored, f"{secret!r} is still in Redis"
    assert REDACTED in stored and json.loads(stored)["events"], "the dialogue state is kept, the texts are not"
    assert 0 < pair.redis.ttl(TRACKER_PREFIX + who) <= RECORD_EXP
    for log in pair.logs:
        assert "SCALE-STORY-42" not in log.read_text(errors="replace")


def test_every_conversation_in_redis_expires(pair: Pair) -> None:
    who = sender("ttl")
    pair.say(pair.a, who, "hallo")
    pair.say(pair.b, who, "mag ik een geschenk van een leverancier aannemen")
    keys = pair.redis.keys(TRACKER_PREFIX + "*")
    assert TRACKER_PREFIX + who in keys
    ttls = {key: pair.redis.ttl(key) for key in keys}
    assert all(0 < ttl <= RECORD_EXP for ttl in ttls.values()), ttls  # -1 would mean: kept forever
    # deploy/redis.conf: nothing is written to disk, only the tracker keys can be evicted.
    assert pair.redis.command("CONFIG", "GET", "save") == [b"save", b""]
    assert pair.redis.command("CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]
    assert pair.redis.command("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"volatile-ttl"]
    assert not list((pair.redis.log.parent).glob("*.rdb")) and not list(pair.redis.log.parent.glob("*.aof"))


def well_formed(events: list[dict[str, Any]]) -> list[str]:
    """The user texts of a conversation, checking its turns came one after the other.

    Every user message is followed by its actions up to `action_listen` before the next one, and the event times
    never go back. Two servers handling the same conversation at the same moment (no shared lock) would each
    append a whole turn, but the later-saved turn would have started before the other ended.
    """
    texts: list[str] = []
    waiting = False  # a user message whose turn has not ended with action_listen yet
    for event in events:
        if event.get("event") == "user":
            assert not waiting, f"two user messages without a turn in between: {texts[-1]!r}, {event['text']!r}"
            texts.append(event["text"])
            waiting = True
        elif event.get("event") == "action" and event.get("name") == "action_listen":
            waiting = False
    assert not waiting
    times = [event["timestamp"] for event in events]
    overlaps = [(a, b) for a, b in itertools.pairwise(times) if b < a]
    assert not overlaps, f"turns overlapped in time: {overlaps}"
    return texts


def conversation(pair: Pair, number: int) -> tuple[str, list[str]]:
    """One person: a bullying question on one server, the formal or informal answer on the other."""
    who = sender(f"crowd{number}")
    first, second = (pair.a, pair.b) if number % 2 else (pair.b, pair.a)
    formal = number % 3 == 0
    question = pair.say(first, who, f"mijn teamleider kleineert me al maanden waar iedereen bij is (nr {number})")
    assert payloads(question) == ["/kies_informeel", "/kies_formeel"]
    answer = pair.say(second, who, "/kies_formeel" if formal else "/kies_informeel")
    return who, [joined(answer), "preventieadviseur" if formal else "vertrouwenspersoon"]


def test_concurrent_people_on_both_servers_get_their_own_answers(pair: Pair) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: conversation(pair, n), range(16)))
    for number, (who, (answer, actor)) in enumerate(results):
        assert answer.split("\n")[1].startswith(f"Je kan terecht bij de {actor}"), (number, answer)
        texts = well_formed(pair.events(who))
        assert texts[0].endswith(f"(nr {number})") and len(texts) == 2


def test_messages_of_one_person_sent_to_both_servers_at_once_are_handled_one_by_one(pair: Pair) -> None:
    """The Redis lock store serialises a conversation across servers: no turn is lost, mixed or overlapped."""
    people = [sender("burst") for _ in range(4)]
    for turn in range(ROUNDS):
        messages = [(who, server, f"mag ik een cadeaubon van een leverancier houden, vraag {who[-6:]}-{turn}")
                    for who in people for server in (pair.a, pair.b)]
        start = threading.Barrier(len(messages))  # both servers get each person's two messages at one moment

        def send(message: tuple[str, str, str], start: threading.Barrier = start) -> list[dict[str, Any]]:
            start.wait(timeout=30)
            return pair.say(message[1], message[0], message[2])

        with ThreadPoolExecutor(max_workers=len(messages)) as pool:
            replies = list(pool.map(send, messages))
        assert all(reply for reply in replies)
    for who in people:
        texts = well_formed(pair.events(who))
        assert len(texts) == 2 * ROUNDS, texts
        assert all(who[-6:] in text for text in texts), "only this person's messages"
