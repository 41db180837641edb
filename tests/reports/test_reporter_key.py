"""Reporter access with an already authenticated (report id, reporter key), on SQLite and PostgreSQL.

`authenticate_reporter` turns a receipt code into that pair (throttled, one Argon2 derivation); `reporter_view` and
`add_reporter_message_with_key` use it. `follow_up` and `add_reporter_message` are these put together.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.reports import casework, crypto, db, receipts, reporter, submission, validation
from integrity.reports.errors import (
    FollowUpThrottled,
    ReportClosed,
    ReportError,
    ReportNotFound,
    ReportValidationError,
    UnknownReceipt,
    WrongReporterKey,
)
from integrity.reports.models import Author, FollowUpAttempt, ReportMessage, ReportStatus
from tests.plugins.report_store import Keys, make_draft

T0 = datetime(2026, 1, 30, 9, 0, tzinfo=timezone.utc)
SENDER = "telegram:987654321"


def submit(session: Session, keys: Keys, **changes: object) -> tuple[str, str, bytes]:
    """(receipt code, report id, reporter key) of a new report."""
    submitted = submission.submit_report(session, make_draft(**changes), now=T0)
    report_id, key = reporter.authenticate_reporter(session, submitted.receipt_code, None, now=T0)
    session.commit()  # as the channel does
    return submitted.receipt_code, report_id, key


def wrong_code(code: str) -> str:
    digits = receipts.normalise(code)
    return digits[:-1] + str((int(digits[-1]) + 1) % 10)


def message_count(session: Session) -> int:
    return int(session.scalar(select(func.count(ReportMessage.id))) or 0)


def attempt_count(session: Session) -> int:
    return int(session.scalar(select(func.count(FollowUpAttempt.id))) or 0)


# --- authenticate_reporter --------------------------------------------------------------------------------------


def test_authenticate_returns_the_report_id_and_the_key_of_the_code(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    report_id, key = reporter.authenticate_reporter(session, submitted.receipt_code, SENDER, now=T0)
    assert str(uuid.UUID(report_id)) == report_id
    assert casework.read_report(session, report_id, keys.private).summary.reference == submitted.reference
    assert key == receipts.reporter_key(submitted.receipt_code)
    assert attempt_count(session) == 0  # successes are not recorded


def test_authenticate_derives_once_per_attempt(
    session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = submission.submit_report(session, make_draft(), now=T0).receipt_code
    calls: list[str] = []
    derive_both = receipts.derive_both

    def counting(value: str, *args: object) -> tuple[str | None, bytes]:
        calls.append(value)
        return derive_both(value, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(receipts, "derive_both", counting)
    monkeypatch.setattr(receipts, "reporter_key", lambda *_: pytest.fail("second derivation"))
    monkeypatch.setattr(receipts, "receipt_hash", lambda *_: pytest.fail("second derivation"))
    reporter.authenticate_reporter(session, code, SENDER)
    with pytest.raises(UnknownReceipt):
        reporter.authenticate_reporter(session, wrong_code(code), SENDER)
    reporter.follow_up(session, code, SENDER)
    reporter.add_reporter_message(session, code, "aanvulling", throttle_key=SENDER)
    assert len(calls) == 4


def test_authenticate_records_failures_and_throttles(session: Session, keys: Keys) -> None:
    code = submission.submit_report(session, make_draft(), now=T0).receipt_code
    session.commit()
    wrong = wrong_code(code)
    for minute in range(reporter.FOLLOW_UP_MAX_FAILURES):
        with pytest.raises(UnknownReceipt), db.transaction(session):
            reporter.authenticate_reporter(session, wrong, SENDER, now=T0 + timedelta(minutes=minute))
    session.rollback()  # the failures were committed by the boundary although the calls raised
    assert attempt_count(session) == reporter.FOLLOW_UP_MAX_FAILURES
    with pytest.raises(FollowUpThrottled):
        reporter.authenticate_reporter(session, code, SENDER, now=T0 + timedelta(minutes=5))
    # follow_up shares the same throttle.
    with pytest.raises(FollowUpThrottled):
        reporter.follow_up(session, code, SENDER, now=T0 + timedelta(minutes=5))
    # Without a throttle key nothing is checked or recorded.
    assert reporter.authenticate_reporter(session, code, None, now=T0 + timedelta(minutes=5))
    with pytest.raises(UnknownReceipt):
        reporter.authenticate_reporter(session, wrong, None, now=T0 + timedelta(minutes=5))
    assert attempt_count(session) == reporter.FOLLOW_UP_MAX_FAILURES


# --- reporter_view ----------------------------------------------------------------------------------------------


def test_reporter_view_with_the_right_key_equals_follow_up(session: Session, keys: Keys) -> None:
    code, report_id, key = submit(session, keys, what_happened="Facturen worden dubbel betaald.")
    casework.reply_to_reporter(session, report_id, "Heb je de factuurnummers?", keys.private,
                              now=T0 + timedelta(days=1))

    with db.transaction(session):
        view = reporter.reporter_view(session, report_id, key)
    assert view.status == ReportStatus.ONTVANGEN
    assert view.report["what_happened"] == "Facturen worden dubbel betaald."
    assert "report_id" not in view.report and "version" not in view.report
    assert [(m.author, m.text, m.new) for m in view.messages] == [
        (Author.BACKOFFICE, "Heb je de factuurnummers?", True)]
    # Marked read (committed): seen as not new afterwards, also through the receipt code.
    session.rollback()
    assert not reporter.reporter_view(session, report_id, key).messages[0].new
    by_code = reporter.follow_up(session, code, SENDER)
    assert (by_code.reference, by_code.report, [m.text for m in by_code.messages]) == (
        view.reference, view.report, [m.text for m in view.messages])


@pytest.mark.parametrize("which", ["random", "other report", "too short", "not bytes"])
def test_wrong_key_raises_wrong_reporter_key(session: Session, keys: Keys, which: str) -> None:
    _, report_id, key = submit(session, keys)
    casework.reply_to_reporter(session, report_id, "Antwoord", keys.private)
    bad: object = {
        "random": secrets.token_bytes(32),
        "other report": submit(session, keys)[2],
        "too short": key[:16],
        "not bytes": key.hex(),
    }[which]
    with pytest.raises(WrongReporterKey) as error:
        reporter.reporter_view(session, report_id, bad)  # type: ignore[arg-type]
    assert isinstance(error.value, ReportError) and isinstance(error.value, crypto.DecryptionError)
    assert "ontvangstcode" in error.value.user_message
    assert "does not open" in str(error.value) or "bytes" in str(error.value)
    # Nothing was marked read.
    assert reporter.reporter_view(session, report_id, key).messages[0].new


def test_unknown_report_id_is_report_not_found(session: Session, keys: Keys) -> None:
    _, _, key = submit(session, keys)
    with pytest.raises(ReportNotFound):
        reporter.reporter_view(session, str(uuid.uuid4()), key)
    with pytest.raises(ReportNotFound):
        reporter.add_reporter_message_with_key(session, str(uuid.uuid4()), key, "hallo")


# --- add_reporter_message_with_key ------------------------------------------------------------------------------


def test_message_with_the_right_key_is_stored_for_both_sides(session: Session, keys: Keys) -> None:
    code, report_id, key = submit(session, keys)
    at = T0 + timedelta(days=2)
    with db.transaction(session):
        reporter.add_reporter_message_with_key(session, report_id, key, "  Factuur 2024-0117.\r\n",
                                              now=at)
    session.rollback()  # committed
    [summary] = casework.list_reports(session)
    assert summary.unread_messages == 1
    detail = casework.read_report(session, report_id, keys.private)
    assert [(m.author, m.text, m.created_at.replace(tzinfo=at.tzinfo)) for m in detail.messages] == [
        (Author.REPORTER, "Factuur 2024-0117.", at)]
    [message] = reporter.follow_up(session, code, SENDER).messages
    assert (message.author, message.text, message.new) == (Author.REPORTER, "Factuur 2024-0117.", False)


def test_message_with_a_wrong_key_stores_nothing(session: Session, keys: Keys) -> None:
    _, report_id, _ = submit(session, keys)
    with pytest.raises(WrongReporterKey):
        reporter.add_reporter_message_with_key(session, report_id, secrets.token_bytes(32), "hallo")
    session.rollback()
    assert message_count(session) == 0


def test_closed_report_refuses_a_message(session: Session, keys: Keys) -> None:
    code, report_id, key = submit(session, keys)
    casework.change_status(session, report_id, ReportStatus.AFGESLOTEN, "afgerond")
    session.commit()
    with pytest.raises(ReportClosed) as error:
        reporter.add_reporter_message_with_key(session, report_id, key, "nog iets")
    assert "afgesloten" in error.value.user_message
    with pytest.raises(ReportClosed):
        reporter.add_reporter_message(session, code, "nog iets")
    session.rollback()
    assert message_count(session) == 0
    assert reporter.reporter_view(session, report_id, key).status == ReportStatus.AFGESLOTEN  # still readable


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (validation.MESSAGE_MAX + 1)])
def test_bad_text_is_refused_before_the_key_or_the_code(session: Session, keys: Keys, text: str) -> None:
    code, report_id, _ = submit(session, keys)
    with pytest.raises(ReportValidationError):
        reporter.add_reporter_message_with_key(session, report_id, secrets.token_bytes(32), text)
    with pytest.raises(ReportValidationError):  # no failed attempt recorded for a bad text with a wrong code
        reporter.add_reporter_message(session, wrong_code(code), text, throttle_key=SENDER)
    assert attempt_count(session) == 0
    assert message_count(session) == 0
