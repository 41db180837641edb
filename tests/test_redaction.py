"""What the Rasa tracker store forgets (rasa_plugins.redaction), and both stores doing it with Rasa's own classes."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from devtools.stack import REPO, rasa_env
from rasa_plugins.redaction import (
    REDACTED,
    forget_before_restart,
    last_redaction_point,
    needs_redaction,
    redact_events,
    stale_senders,
)

MARK = {"event": "slot", "name": "redact_conversation", "value": True}
UNMARK = {"event": "slot", "name": "redact_conversation", "value": None}
EVENTS = [
    {"event": "user", "text": "mijn chef steelt", "parse_data": {"text": "mijn chef steelt", "entities": [{"v": 1}],
                                                                  "intent": {"name": "fraude_corruptie"}}},
    {"event": "bot", "text": "Je ontvangstcode is 1234", "data": {"buttons": []}},
    {"event": "slot", "name": "report_what", "value": "mijn chef steelt"},
    {"event": "slot", "name": "last_route", "value": "fraude_corruptie"},
    {"event": "action", "name": "action_route"},
]
FOLLOWUP = [
    {"event": "user", "text": "opvolgen", "parse_data": {"text": "opvolgen", "intent": {"name": "opvolgen"}}},
    {"event": "active_loop", "name": "followup_form"},
    {"event": "slot", "name": "followup_code", "value": "5555 6666 7777 8888"},
    {"event": "user", "text": "nog een detail FU-1", "parse_data": {"text": "nog een detail FU-1"}},
    {"event": "bot", "text": "Je bericht is toegevoegd aan je melding."},
]


def test_nothing_is_redacted_before_a_report_is_done() -> None:
    assert not needs_redaction(EVENTS) and not needs_redaction([*EVENTS, UNMARK])
    assert needs_redaction([*EVENTS, MARK, UNMARK])
    assert redact_events(EVENTS) == EVENTS, "no marker: nothing to forget yet"


def test_redaction_blanks_texts_and_report_slots_but_keeps_the_dialogue_state() -> None:
    redacted = redact_events([*EVENTS, MARK, UNMARK])
    assert "steelt" not in str(redacted) and "1234" not in str(redacted)
    assert redacted[0]["text"] == REDACTED and redacted[0]["parse_data"]["intent"]["name"] == "fraude_corruptie"
    assert redacted[2]["value"] is None and redacted[3]["value"] == "fraude_corruptie"
    assert redacted[4] == EVENTS[4]
    assert EVENTS[0]["text"] == "mijn chef steelt", "the input is not modified"


def test_a_follow_up_after_a_report_keeps_its_code_and_text_until_it_is_done() -> None:
    """The bug of issue 11: once a report was done, every save also wiped the follow-up's code."""
    events = [*EVENTS, MARK, UNMARK, *FOLLOWUP]
    redacted = redact_events(events)
    assert last_redaction_point(events) == len(EVENTS)
    assert "steelt" not in str(redacted[:len(EVENTS)])
    assert redacted[len(EVENTS) + 2:] == FOLLOWUP, "what comes after the marker stays intact"
    assert redact_events(redacted) == redacted, "saving again changes nothing"

    finished = redact_events([*redacted, {"event": "slot", "name": "followup_code", "value": None}, MARK, UNMARK,
                              {"event": "action", "name": "action_listen"}])
    assert "5555" not in str(finished) and "FU-1" not in str(finished) and "toegevoegd" not in str(finished)
    assert finished[-1] == {"event": "action", "name": "action_listen"}


def test_idle_conversations_are_found() -> None:
    assert stale_senders({"a": 0.0, "b": 3000.0}, now=3700.0, max_idle_seconds=3600) == ["a"]


def test_a_restart_forgets_everything_before_it() -> None:
    events = [*EVENTS, {"event": "restart"}, {"event": "action", "name": "action_listen"}]
    assert forget_before_restart(events) == [{"event": "restart"}, {"event": "action", "name": "action_listen"}]
    assert forget_before_restart(EVENTS) == EVENTS


# Runs in .venv-rasa: the real Rasa tracker classes, both redacting stores (Redis on an in-memory stand-in for the
# redis client: two store objects sharing it are two Rasa servers), turn by turn as Rasa's processor uses them.
STORES = textwrap.dedent('''
    import asyncio, json
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet,
                                         UserUttered)
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_plugins.tracker_store import RedactingInMemoryTrackerStore
    from rasa_plugins.redis_tracker_store import RedactingRedisTrackerStore

    class FakeRedis:
        def __init__(self): self.data = {}
        def get(self, key): return self.data.get(key)
        def set(self, key, value, ex=None): self.data[key] = value

    domain = Domain.load("domain.yml")
    CODE = "5555 6666 7777 8888"

    def turn(text, intent):
        return [UserUttered(text, {"name": intent, "confidence": 1.0})]

    def done():
        return [SlotSet("redact_conversation", True), SlotSet("redact_conversation", None),
                ActionExecuted("action_listen")]

    TURNS = [
        [*turn("mijn chef steelt REPORT-TEXT", "melding_starten"), SlotSet("report_what", "REPORT-TEXT"),
         BotUttered("Je ontvangstcode is 1111 2222 3333 4444"), SlotSet("report_what", None), *done()],
        # A new session (Rasa's retrieve then returns only this one, and the Redis store merges on save).
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
         *turn("opvolgen", "opvolgen"), ActiveLoop("followup_form"), SlotSet("followup_code", CODE),
         BotUttered("Melding M-2026-XXXXXX: ontvangen"), ActionExecuted("action_listen")],
        [*turn("eerste aanvulling ADD-ONE", "out_of_scope"), BotUttered("Je bericht is toegevoegd aan je melding."),
         ActionExecuted("action_listen")],
        [*turn("tweede aanvulling ADD-TWO", "out_of_scope"), BotUttered("Je bericht is toegevoegd aan je melding."),
         ActionExecuted("action_listen")],
        [*turn("bedankt", "thanks"), ActiveLoop(None), SlotSet("followup_code", None), *done()],
    ]

    async def run(stores, read):
        who, seen = "sender-1", []
        for index, events in enumerate(TURNS):
            store = stores[index % len(stores)]
            tracker = await store.retrieve(who) or DialogueStateTracker(who, domain.slots)
            seen.append({"code_before_turn": tracker.get_slot("followup_code")})
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            seen[-1]["stored"] = read(who)
        return seen

    memory = RedactingInMemoryTrackerStore(domain)
    redis = FakeRedis()
    servers = [RedactingRedisTrackerStore(domain, record_exp=60) for _ in range(2)]
    for server in servers:
        server.red = redis
    result = {
        "memory": asyncio.run(run([memory], lambda who: memory.store[who])),
        "redis": asyncio.run(run(servers, lambda who: redis.data[servers[0].key_prefix + who])),
    }
    print("RESULT" + json.dumps(result))
''')


@pytest.mark.rasa
@pytest.mark.parametrize("store", ["memory", "redis"])
def test_both_rasa_stores_keep_a_follow_up_after_a_report_and_forget_it_when_done(store: str) -> None:
    python = REPO / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        pytest.fail(".venv-rasa is missing: run the tests through `make test`.")
    run = subprocess.run([str(python), "-c", STORES], cwd=REPO, env=rasa_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    turns = json.loads(run.stdout.split("RESULT", 1)[1])[store]
    report, started, first, second, finished = (t["stored"] for t in turns)
    assert "REPORT-TEXT" not in report and "1111 2222" not in report
    assert "5555 6666 7777 8888" in started, "the follow-up's code is kept while it runs"
    assert [t["code_before_turn"] for t in turns] == [None, None, *["5555 6666 7777 8888"] * 3]
    assert "ADD-ONE" in first and "ADD-TWO" in second and "REPORT-TEXT" not in second
    for secret in ("REPORT-TEXT", "5555 6666 7777 8888", "ADD-ONE", "ADD-TWO", "M-2026-XXXXXX"):
        assert secret not in finished, f"{secret} is still stored after the follow-up ended"
    assert REDACTED in finished and '"opvolgen"' in finished, "intents stay, texts go"
