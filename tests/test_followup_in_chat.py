"""A follow-up in the same chat right after a report, and an action that fails, through the real Rasa server, the
real action server and the report store (issue 11: the follow-up bug and errors that leaked into the logs).

The bug: once a report was sent, every save of the tracker also wiped the follow-up's receipt code, so the
addition got an empty reply, was not stored, counted as a wrong code, and Rasa logged the whole tracker.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from devtools.stack import Stack, StackError, running_stack
from integrity.report_flow import report_texts
from integrity.reports import casework, db, receipts
from integrity.reports.models import Author, FollowUpAttempt
from tests.conftest import API_TOKEN, ReportStore, require_model, staff_reader
from tests.scale.conftest import Pair, pair, redis  # noqa: F401  (fixtures: two Rasa servers on one Redis)
from tests.test_report_conversation import tracker_dump

pytestmark = pytest.mark.rasa
CODE = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
REFERENCE = re.compile(r"M-\d{4}-[0-9A-Z]+")
STORY = "Mijn diensthoofd laat zijn broer facturen indienen voor werk dat niemand deed. FIC-STORY-12"
FIRST = "Het gaat om drie facturen van januari, telkens rond 4.000 euro. FIC-ADD-ONE"
SECOND = "De facturen staan in de map leveranciers op de gedeelde schijf. FIC-ADD-TWO"
TEXTS = report_texts()


def sender() -> str:
    return "followup-" + uuid.uuid4().hex


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text", "") for m in messages]


def titles(messages: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for m in messages for b in m.get("buttons", [])]


@pytest.fixture
def store(report_store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in report_store.env.items():
        monkeypatch.setenv(name, value)
    return db.session_factory(report_store.database_url)


def throttle_attempts(factory: Any, who: str) -> int:
    """Failed receipt-code attempts recorded for this chat sender (the action server's throttle key)."""
    with factory() as session:
        return session.scalar(select(func.count(FollowUpAttempt.id))
                              .where(FollowUpAttempt.key_hash == receipts.throttle_hash(who))) or 0


REPORT = ("/melding_starten", "Fraude en corruptie", STORY, "sinds januari", "dienst aankoop", "Overslaan", "Overslaan",
          "Anoniem blijven", "Audit Vlaanderen")


def report(servers: Stack, who: str) -> str:
    """Send an anonymous fraud report in this chat; the reply with its receipt code."""
    for text in REPORT:
        reply = servers.say(who, text)
    assert titles(reply) == ["Verzenden", "Aanpassen", "Annuleren"], reply
    done = "\n".join(texts(servers.say(who, "Verzenden")))
    assert CODE.search(done) and REFERENCE.search(done), done
    return done


def logs(servers: Stack) -> str:
    return "\n".join(log.read_text(errors="replace") for log in (servers.rasa_log, servers.actions_log))


def test_follow_up_right_after_the_report_takes_two_additions(servers: Stack, store: Any) -> None:
    who = sender()
    done = report(servers, who)
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    followup = TEXTS["followup"]

    assert texts(servers.say(who, "opvolgen")) == [followup["ask_code"]]
    view = servers.say(who, code)
    assert texts(view)[0].startswith(f"Melding {reference}: nieuw") and followup["no_messages"] in texts(view)
    assert texts(view)[-1] == followup["ask_addition"] and titles(view) == ["Overslaan"]

    for addition in (FIRST, SECOND):
        added = servers.say(who, addition)
        assert texts(added) == [followup["added"], followup["ask_more"]], "the addition got a real answer"
        assert titles(added) == ["Nee, bedankt"]
    assert texts(servers.say(who, "bedankt")) == [followup["done"]]

    assert additions_of(store, reference) == [(Author.REPORTER, FIRST), (Author.REPORTER, SECOND)]
    assert throttle_attempts(store, who) == 0, "an accepted code costs no throttle attempt"

    secrets = ("FIC-STORY-12", "FIC-ADD-ONE", "FIC-ADD-TWO", code, code.replace(" ", ""))
    written = logs(servers)
    for secret in secrets:
        assert secret not in written, f"{secret!r} is in a server log"
    stored = tracker_dump(servers, who)
    for secret in secrets:
        assert secret not in stored, f"{secret!r} is still in the tracker store after the follow-up"
    assert "leidinggevende" in "\n".join(texts(servers.say(who, "mag ik een fles wijn van een leverancier houden"))), \
        "the conversation goes on normally"


def additions_of(factory: Any, reference: str) -> list[tuple[Author, str]]:
    private_key = staff_reader()
    with factory() as session:
        report_id = next(s.id for s in casework.list_reports(session) if s.reference == reference)
        return [(m.author, m.text) for m in casework.read_report(session, report_id, private_key,
                                                                mark_read=False).messages]


def test_on_two_rasa_servers_sharing_redis_the_follow_up_after_a_report_works_too(pair: Pair, store: Any) -> None:  # noqa: F811
    """The redacting Redis store merges what the other server stored: a follow-up begun after the report's marker
    keeps its code in Redis until it is done, whichever server handles the next message."""
    who = sender()
    servers = [pair.a, pair.b]
    turn = iter(range(100))

    def say(text: str) -> list[dict[str, Any]]:
        return pair.say(servers[next(turn) % 2], who, text)

    for text in REPORT:
        say(text)
    done = "\n".join(texts(say("Verzenden")))
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    assert code not in (pair.stored(who) or ""), "the report is forgotten in Redis"
    say("opvolgen")
    assert texts(say(code))[-1] == TEXTS["followup"]["ask_addition"]
    assert code in (pair.stored(who) or ""), "the follow-up in progress keeps its code"
    for addition in (FIRST, SECOND):
        assert texts(say(addition)) == [TEXTS["followup"]["added"], TEXTS["followup"]["ask_more"]]
    assert texts(say("Nee, bedankt")) == [TEXTS["followup"]["done"]]

    assert additions_of(store, reference) == [(Author.REPORTER, FIRST), (Author.REPORTER, SECOND)]
    assert throttle_attempts(store, who) == 0
    stored = pair.stored(who) or ""
    written = "\n".join(log.read_text(errors="replace") for log in pair.logs)
    for secret in ("FIC-STORY-12", "FIC-ADD-ONE", "FIC-ADD-TWO", code, code.replace(" ", "")):
        assert secret not in stored, f"{secret!r} is still in Redis"
        assert secret not in written, f"{secret!r} is in a server log"


def test_the_throttle_count_used_above_sees_a_wrong_code(servers: Stack, store: Any) -> None:
    """Control for the check above: a wrong code in the chat is recorded for that sender."""
    who = sender()
    servers.say(who, "opvolgen")
    assert texts(servers.say(who, "1111 2222 3333 4444")) == [TEXTS["followup"]["unknown"],
                                                              TEXTS["followup"]["ask_code"]]
    assert throttle_attempts(store, who) == 1
    servers.say(who, "stop")


@pytest.fixture(scope="module")
def broken_store(tmp_path_factory: pytest.TempPathFactory, report_store: ReportStore) -> Iterator[Stack]:
    """A stack of its own whose report database cannot be opened: every follow-up action fails inside."""
    require_model()
    broken = {**report_store.env, "DATABASE_URL": "sqlite:////nonexistent-directory/of/reports.db"}
    try:
        with running_stack(tmp_path_factory.mktemp("broken-store-logs"), extra_env=broken,
                           api_token=API_TOKEN) as stack:
            yield stack
    except StackError as exc:
        pytest.fail(str(exc))


def test_an_action_that_fails_apologises_and_logs_no_text_or_code(broken_store: Stack) -> None:
    who = sender()
    question = "mag ik een fles wijn van een leverancier houden GUARD-TEXT-3"
    assert servers_reply(broken_store, who, question)
    assert texts(broken_store.say(who, "opvolgen")) == [TEXTS["followup"]["ask_code"]]
    code = "2468 1357 9753 8642"
    failed = broken_store.say(who, code)
    assert texts(failed) == [TEXTS["errors"]["unexpected"], TEXTS["followup"]["ask_code"]], \
        "an apology, and the form asks its question again"
    assert texts(broken_store.say(who, "stop")) == [TEXTS["followup"]["done"]], "the conversation stays usable"

    actions_log = broken_store.actions_log.read_text(errors="replace")
    assert "Action validate_followup_form failed with OperationalError" in actions_log, "the failure is logged"
    written = logs(broken_store)
    for secret in ("GUARD-TEXT-3", code, code.replace(" ", ""), "request_body"):
        assert secret not in written, f"{secret!r} is in a server log"


def servers_reply(stack: Stack, who: str, text: str) -> str:
    return "\n".join(texts(stack.say(who, text)))
