"""From a routing decision to a conversation count (integrity/staff/analytics.py `event_for`, `note_decision`)
and the figures read back (`fallback_rate`, `summary`), for the cases the action tests do not reach."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from integrity.replies import Decision
from integrity.staff import analytics

ORG = "vlaamse-overheid"


def decision(route: str, topic: str, **changes: object) -> Decision:
    return Decision(route, topic, (), 0.9, (), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("made", "event"), [
    (decision("noodsituatie", "noodsituatie"), ("emergency", "noodsituatie")),
    (decision("noodsituatie", "noodsituatie", fallback=True), ("emergency", "noodsituatie")),
    (decision("fraude_corruptie", "fraude_corruptie"), ("topic", "fraude_corruptie")),
    (decision("fraude_corruptie", "fraude_corruptie", fallback=True), ("fallback", "fraude_corruptie")),
    (decision("route_die_niet_bestaat", "onzin", fallback=True), ("fallback", "")),
    (decision("route_die_niet_bestaat", "fraude_corruptie"), None),
    (decision("pesten", "pesten", pending_route="pesten"), ("topic", "pesten")),
    (decision("pesten", "pesten"), None),  # the informal/formal choice after it: already counted
    (decision("handoff", "fraude_corruptie"), ("handover", "")),
    (decision("greet", "smalltalk"), None),
])
def test_event_for_each_kind_of_answer(made: Decision, event: tuple[str, str] | None) -> None:
    assert analytics.event_for(made) == event


def test_a_decision_that_cannot_be_counted_is_logged_by_type_only(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    noted: list[tuple[str, ...]] = []
    monkeypatch.setattr(analytics, "note", lambda *args: noted.append(args))

    def broken(_decision: Decision) -> tuple[str, str]:
        raise KeyError("geheime tekst")

    analytics.note_decision(ORG, decision("fraude_corruptie", "fraude_corruptie"))
    assert noted == [(ORG, "topic", "fraude_corruptie")]
    analytics.note_decision(ORG, decision("greet", "smalltalk"))
    assert len(noted) == 1
    monkeypatch.setattr(analytics, "event_for", broken)
    analytics.note_decision(ORG, decision("fraude_corruptie", "fraude_corruptie"))
    assert len(noted) == 1
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == analytics.log.name] == \
        [(logging.WARNING, "Conversation event not counted: KeyError")]


def test_fallback_rate_counts_hand_overs_as_questions_and_leaves_emergencies_out() -> None:
    assert analytics.fallback_rate({}) is None
    assert analytics.fallback_rate({"report_started": 4}) is None
    assert analytics.fallback_rate({"topic": 3}) == 0.0
    assert analytics.fallback_rate({"emergency": 2}) is None
    # An emergency is not counted: with the day's other counts shown, the rate would give a suppressed count away.
    assert analytics.fallback_rate({"topic": 1, "fallback": 1, "handover": 1, "emergency": 1}) == 1 / 3


def test_only_topic_and_fallback_events_are_counted_per_topic(sessions: sessionmaker[Session]) -> None:
    day = date(2026, 1, 5)
    analytics.record(sessions, ORG, "emergency", "noodsituatie", day=day)
    analytics.record(sessions, ORG, "followup", "pesten", day=day)
    analytics.record(sessions, ORG, "topic", "pesten", day=day)
    with sessions.begin() as session:
        summary = analytics.summary(session, ORG, day, day)
    assert summary.per_topic == {"pesten": {"topic": 1}}
    assert summary.totals == {"emergency": 1, "followup": 1, "topic": 1}
    assert summary.fallback_rate == 0.0


@pytest.mark.parametrize(("profile_id", "event", "topic", "message"), [
    (ORG, "x" * 50, "", "unknown conversation event '" + "x" * 40 + "'"),
    (ORG, "topic", "t" * 70, "unknown topic '" + "t" * 64 + "'"),
    ("Vlaamse Overheid", "topic", "", "invalid profile id"),
    ("", "fallback", "", "invalid profile id"),
])
def test_refused_counts_say_why_in_english(sessions: sessionmaker[Session], profile_id: str, event: str,
                                           topic: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        analytics.record(sessions, profile_id, event, topic)
    assert str(refused.value) == message


def test_counts_need_sqlite_or_postgresql() -> None:
    class Dialect:
        name = "mysql"

    class Bind:
        dialect = Dialect()

    class FakeSession(Session):
        def get_bind(self, *args: object, **kwargs: object) -> Bind:  # type: ignore[override]
            return Bind()

    with pytest.raises(RuntimeError) as refused:
        analytics.record(FakeSession(), ORG, "topic", "pesten", day=date(2026, 1, 1))
    assert str(refused.value) == "conversation counts need SQLite or PostgreSQL, not mysql"


def test_the_day_is_the_organisation_s_calendar_day(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timezone

    instant = datetime(2026, 1, 1, 23, 30, tzinfo=timezone.utc)  # already 2 January in Brussels

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return instant.astimezone(tz) if tz is not None else instant.replace(tzinfo=None)  # type: ignore[arg-type]

    monkeypatch.setattr(analytics, "datetime", Frozen)
    assert analytics.today() == date(2026, 1, 2)
