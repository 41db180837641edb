"""The report service against a real database: SQLite file and PostgreSQL (each test runs on both)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nacl.public import PrivateKey
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import casework, crypto, db, errors, receipts, report_keys, reporter, schemas, submission
from integrity.reports.errors import (
    FollowUpThrottled,
    InvalidStatusChange,
    ReportClosed,
    ReportNotFound,
    UnknownReceipt,
)
from integrity.reports.models import FollowUpAttempt, Report, ReportMessage, ReportStatus, StatusChange
from integrity.reports.report_keys import Reader
from tests.plugins.report_store import Keys, make_draft

T0 = datetime(2026, 1, 30, 9, 0, tzinfo=timezone.utc)
SECRET_TEXT = "Geheime observatie: kluis 4711 wordt elke vrijdag leeggehaald"
CONTACT = "fluitsignaal-contact@example.org"
SENDER = "telegram:987654321"


def raw_database_text(engine: Engine) -> bytes:
    """Everything stored, as raw bytes: the SQLite files (incl. WAL), or every PostgreSQL row cast to text."""
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    with engine.connect() as connection:
        tables = ["reports", "report_messages", "status_changes", "follow_up_attempts", "alembic_version"]
        parts = [connection.execute(text(f"SELECT coalesce(string_agg(t::text, '|'), '') FROM {table} t"))
                 .scalar_one() for table in tables]
    return "\n".join(parts).encode("utf-8")


def test_submit_then_list_shows_metadata_and_deadlines(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    assert submitted.ack_due == T0 + timedelta(days=7)
    assert submitted.feedback_due == datetime(2026, 4, 30, 9, 0, tzinfo=timezone.utc)

    [summary] = casework.list_reports(session, now=T0 + timedelta(days=1))
    assert summary.reference == submitted.reference
    assert summary.reference.startswith("M-2026-")
    assert (summary.profile_id, summary.category, summary.target_actor) == (
        "vlaamse-overheid", "fraude_corruptie", "audit_vlaanderen")
    assert summary.status == ReportStatus.NIEUW
    assert summary.created_at == T0
    assert summary.ack_due == T0 + timedelta(days=7)
    assert not summary.ack_overdue and not summary.feedback_overdue

    late = casework.list_reports(session, overdue_only=True, now=T0 + timedelta(days=8))
    assert [s.reference for s in late] == [submitted.reference]
    assert late[0].ack_overdue
    assert casework.list_reports(session, profile_id="federale-politie") == []
    assert casework.list_reports(session, actor="vertrouwenspersoon") == []
    assert len(casework.list_reports(session, status="nieuw")) == 1
    assert casework.list_reports(session, status=ReportStatus.AFGESLOTEN) == []


def test_content_is_unreadable_without_the_private_key(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET_TEXT))
    stored = session.scalar(select(Report))
    assert stored is not None
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(PrivateKey.generate(), stored.content_sealed)
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(keys.user_private, stored.content_sealed)  # the reader's own key is not the report's
    with pytest.raises(report_keys.NoAccess):  # a grant, but another private key
        casework.read_report(session, stored.id, Reader(keys.user_id, PrivateKey.generate()))
    with pytest.raises(report_keys.NoAccess):  # the right key under another staff member's id: no grant
        casework.read_report(session, stored.id, Reader(keys.user_id + 1000, keys.user_private))

    detail = casework.read_report(session, submitted.reference, keys.private)
    assert detail.content["what_happened"] == SECRET_TEXT
    assert detail.content["channel"] == "telegram"
    assert detail.content["anonymous"] is True


def test_only_the_receipt_hash_is_stored_and_nothing_in_plaintext(
    session: Session, engine: Engine, keys: Keys
) -> None:
    draft = make_draft(what_happened=SECRET_TEXT, anonymous=False, contact=CONTACT)
    submitted = submission.submit_report(session, draft)
    code = receipts.normalise(submitted.receipt_code)
    assert len(code) >= 16 and code.isdigit()
    assert submitted.receipt_code == " ".join(code[i:i + 4] for i in range(0, 16, 4))

    stored = session.scalar(select(Report))
    assert stored is not None
    assert stored.receipt_hash == receipts.receipt_hash(code)
    assert code not in stored.receipt_hash

    reporter.add_reporter_message(session, code, "Extra: " + SECRET_TEXT[::-1], throttle_key=SENDER)
    with pytest.raises(UnknownReceipt):
        reporter.follow_up(session, "0000 0000 0000 0001", SENDER)
    session.commit()
    session.close()

    raw = raw_database_text(engine)
    for needle in (code, submitted.receipt_code, SECRET_TEXT, SECRET_TEXT[::-1], "kluis 4711", CONTACT,
                   "987654321", "diensthoofd"):
        assert needle.encode("utf-8") not in raw, needle
        assert needle.encode("utf-8").hex().encode() not in raw, needle
    assert stored.receipt_hash.encode() in raw  # the scan does see the stored values


# Tables about staff (who logged in, who did what, who holds a key) and the scheduled jobs' rows: their `user`,
# `name` and `email` columns are staff members', never a reporter's.
STAFF_TABLES = {"staff_users", "staff_sessions", "audit_log", "report_key_grants", "notification_events",
                "notification_outbox", "job_runs"}


def test_no_column_can_hold_a_reporter_identity(engine: Engine) -> None:
    forbidden = {"telegram", "chat", "user", "username", "name", "phone", "sender", "email", "ip", "ip_address"}
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert tables >= {"reports", "report_messages", "case_notes", "conversation_counts"}
    for table in sorted(tables - STAFF_TABLES):
        for column in inspector.get_columns(table):
            parts = set(column["name"].lower().split("_"))
            assert not parts & forbidden, f"{table}.{column['name']}"


def test_follow_up_shows_status_and_back_office_reply(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET_TEXT), now=T0)
    view = reporter.follow_up(session, submitted.receipt_code, SENDER, now=T0 + timedelta(hours=1))
    assert view.status == ReportStatus.NIEUW
    assert view.report["what_happened"] == SECRET_TEXT
    assert view.messages == []

    casework.reply_to_reporter(session, submitted.reference, "Bedankt, we onderzoeken dit.", keys.private,
                              now=T0 + timedelta(days=2))
    dashed = submitted.receipt_code.replace(" ", "-")
    view = reporter.follow_up(session, dashed, SENDER, now=T0 + timedelta(days=3))
    assert view.status == ReportStatus.ONTVANGEN  # the reply acknowledged the report
    assert view.acknowledged_at == T0 + timedelta(days=2)
    assert [(m.author.value, m.text, m.new) for m in view.messages] == [
        ("backoffice", "Bedankt, we onderzoeken dit.", True)]
    again = reporter.follow_up(session, submitted.receipt_code, SENDER, now=T0 + timedelta(days=3))
    assert not again.messages[0].new


def test_wrong_or_malformed_code_is_unknown_receipt(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft())
    digits = receipts.normalise(submitted.receipt_code)
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    for code in (wrong, "1234", "abcd efgh ijkl mnop", ""):
        with pytest.raises(UnknownReceipt) as error:
            reporter.follow_up(session, code, SENDER)
        assert "ontvangstcode" in error.value.user_message
    with pytest.raises(UnknownReceipt):
        reporter.add_reporter_message(session, wrong, "hallo")


def test_follow_up_is_throttled_after_five_failures_and_reset_after_the_window(
    session: Session, keys: Keys
) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    digits = receipts.normalise(submitted.receipt_code)
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)

    reporter.follow_up(session, submitted.receipt_code, SENDER, now=T0)  # successes do not count
    for minute in range(5):
        with pytest.raises(UnknownReceipt):
            reporter.follow_up(session, wrong, SENDER, now=T0 + timedelta(minutes=minute))
    with pytest.raises(FollowUpThrottled) as throttled:
        reporter.follow_up(session, submitted.receipt_code, SENDER, now=T0 + timedelta(minutes=5))
    # The oldest failure (T0) leaves the ten-minute window at T0 + 10 min: 300 s from now, plus the rounding second.
    assert throttled.value.retry_after == 301
    assert "Probeer het over 6 minuten opnieuw." in throttled.value.user_message
    with pytest.raises(FollowUpThrottled):
        reporter.add_reporter_message(session, submitted.receipt_code, "hallo", throttle_key=SENDER,
                                     now=T0 + timedelta(minutes=6))

    # Another sender is not affected; the stored key is a keyed hash, not the sender id.
    assert reporter.follow_up(session, submitted.receipt_code, "telegram:42", now=T0 + timedelta(minutes=6))
    stored_keys = set(session.scalars(select(FollowUpAttempt.key_hash)))
    assert stored_keys == {receipts.throttle_hash(SENDER)}

    # The first failure leaves the window: one more attempt is allowed, then throttled again.
    after_first = T0 + timedelta(minutes=10, seconds=1)
    with pytest.raises(UnknownReceipt):
        reporter.follow_up(session, wrong, SENDER, now=after_first)
    with pytest.raises(FollowUpThrottled):
        reporter.follow_up(session, submitted.receipt_code, SENDER, now=after_first)

    # Once all failures are older than ten minutes, the right code works again.
    view = reporter.follow_up(session, submitted.receipt_code, SENDER, now=T0 + timedelta(minutes=21))
    assert view.reference == submitted.reference


def test_reporter_message_reaches_the_back_office(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    reporter.add_reporter_message(session, submitted.receipt_code, "Ik heb nog een derde factuur gevonden.",
                                 throttle_key=SENDER, now=T0 + timedelta(days=1))
    [summary] = casework.list_reports(session)
    assert summary.unread_messages == 1

    detail = casework.read_report(session, submitted.reference, keys.private)
    assert [(m.author.value, m.text) for m in detail.messages] == [
        ("reporter", "Ik heb nog een derde factuur gevonden.")]
    assert casework.list_reports(session)[0].unread_messages == 0

    view = reporter.follow_up(session, submitted.receipt_code, SENDER)
    assert [m.text for m in view.messages] == ["Ik heb nog een derde factuur gevonden."]


def test_status_changes_are_recorded_with_history(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    ref = submitted.reference
    casework.change_status(session, ref, "in_behandeling", "onderzoek gestart", now=T0 + timedelta(days=1))
    casework.change_status(session, ref, ReportStatus.DOORVERWEZEN, "naar Audit Vlaanderen",
                          now=T0 + timedelta(days=2))
    with pytest.raises(InvalidStatusChange):
        casework.change_status(session, ref, "nieuw")
    with pytest.raises(InvalidStatusChange):
        casework.change_status(session, ref, "doorverwezen")
    with pytest.raises(InvalidStatusChange):
        casework.change_status(session, ref, "gearchiveerd")
    casework.change_status(session, ref, "afgesloten", "feiten bevestigd, tuchtprocedure", now=T0 + timedelta(days=3))
    with pytest.raises(InvalidStatusChange):
        casework.change_status(session, ref, "in_behandeling")
    with pytest.raises(ReportClosed):
        reporter.add_reporter_message(session, submitted.receipt_code, "nog iets")
    with pytest.raises(ReportNotFound):
        casework.change_status(session, "M-2026-NOPE00", "afgesloten")

    detail = casework.read_report(session, ref, keys.private)
    assert [(e.from_status and e.from_status.value, e.to_status.value, e.actor_role.value, e.reason)
            for e in detail.history] == [
        (None, "nieuw", "reporter", None),
        ("nieuw", "ontvangen", "backoffice", None),
        ("ontvangen", "in_behandeling", "backoffice", "onderzoek gestart"),
        ("in_behandeling", "doorverwezen", "backoffice", "naar Audit Vlaanderen"),
        ("doorverwezen", "afgesloten", "backoffice", "feiten bevestigd, tuchtprocedure"),
    ]
    assert detail.close_reason == "feiten bevestigd, tuchtprocedure"
    assert detail.summary.closed_at == T0 + timedelta(days=3)
    assert detail.summary.acknowledged_at == T0 + timedelta(days=1)
    assert reporter.follow_up(session, submitted.receipt_code, SENDER).status == ReportStatus.AFGESLOTEN
    stored = session.scalar(select(Report))
    assert stored is not None and b"tuchtprocedure" not in (stored.close_reason_sealed or b"")


def test_acknowledge_sets_feedback_due_three_months_later(session: Session, keys: Keys) -> None:
    submitted = submission.submit_report(session, make_draft(), now=T0)
    acknowledged_at = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
    summary = casework.acknowledge(session, submitted.reference, now=acknowledged_at)
    assert summary.status == ReportStatus.ONTVANGEN
    assert summary.acknowledged_at == acknowledged_at
    assert summary.feedback_due == datetime(2027, 2, 28, 10, 0, tzinfo=timezone.utc)  # day clipped to February
    again = casework.acknowledge(session, submitted.reference, now=acknowledged_at + timedelta(days=1))
    assert again.acknowledged_at == acknowledged_at  # idempotent

    just_after = datetime(2027, 3, 1, tzinfo=timezone.utc)
    [late] = casework.list_reports(session, overdue_only=True, now=just_after)
    assert late.feedback_overdue and not late.ack_overdue
    casework.reply_to_reporter(session, submitted.reference, "Stand van zaken: ...", keys.private,
                              now=datetime(2027, 2, 1, tzinfo=timezone.utc))
    assert casework.list_reports(session, overdue_only=True, now=just_after) == []


def test_purge_deletes_only_closed_reports_older_than_n_days(session: Session, keys: Keys) -> None:
    old_closed = submission.submit_report(session, make_draft(), now=T0)
    recent_closed = submission.submit_report(session, make_draft(), now=T0)
    old_open = submission.submit_report(session, make_draft(), now=T0)
    reporter.add_reporter_message(session, old_closed.receipt_code, "bericht", now=T0)
    casework.change_status(session, old_closed.reference, "afgesloten", "klaar", now=T0 + timedelta(days=1))
    casework.change_status(session, recent_closed.reference, "afgesloten", now=T0 + timedelta(days=50))

    now = T0 + timedelta(days=60)
    assert casework.purge_closed(session, 30, now=now) == 1
    assert {s.reference for s in casework.list_reports(session)} == {recent_closed.reference, old_open.reference}
    assert session.scalar(select(func.count()).select_from(ReportMessage)) == 0
    remaining = set(session.scalars(select(StatusChange.report_id)))
    assert remaining == {s.id for s in casework.list_reports(session)}
    assert casework.purge_closed(session, 30, now=now) == 0
    assert casework.purge_closed(session, 0, now=now) == 1
    assert [s.reference for s in casework.list_reports(session)] == [old_open.reference]


def test_text_is_cleaned_but_emoji_and_html_are_kept_as_text(session: Session, keys: Keys, engine: Engine) -> None:
    dirty = "Hij zei <script>alert('x')</script> & <b>lachte</b> 😡👩‍💻\x00\x07\x1b[31m\r\nregel 2\ttab"
    submitted = submission.submit_report(session, make_draft(what_happened=dirty))
    detail = casework.read_report(session, submitted.reference, keys.private)
    assert detail.content["what_happened"] == (
        "Hij zei <script>alert('x')</script> & <b>lachte</b> 😡👩‍💻[31m\nregel 2\ttab")
    session.commit()
    session.close()
    assert b"<script>" not in raw_database_text(engine)


def test_concurrent_submissions(sessions: sessionmaker[Session], keys: Keys, engine: Engine,
                                capsys: pytest.CaptureFixture[str]) -> None:
    count = 200

    def submit(number: int) -> schemas.SubmittedReport:
        with sessions.begin() as own:
            return submission.submit_report(own, make_draft(what_happened=f"melding {number}"))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(submit, range(count)))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[{engine.dialect.name}] {count} concurrent submissions (16 threads): {elapsed:.2f} s")

    with sessions.begin() as check:
        assert check.scalar(select(func.count()).select_from(Report)) == count
        assert check.scalar(select(func.count(func.distinct(Report.receipt_hash)))) == count
        assert check.scalar(select(func.count(func.distinct(Report.reference)))) == count
    assert len({r.receipt_code for r in results}) == count


def test_receipt_collision_gets_a_new_code(session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = iter(["1111222233334444", "1111222233334444", "5555666677778888"])
    monkeypatch.setattr(receipts, "new_code", lambda: next(codes))
    first = submission.submit_report(session, make_draft())
    second = submission.submit_report(session, make_draft())
    assert (first.receipt_code, second.receipt_code) == ("1111 2222 3333 4444", "5555 6666 7777 8888")
    assert len(casework.list_reports(session)) == 2


def _hold_sqlite_lock(path: str, seconds: float) -> threading.Thread:
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(5)
    return thread


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_lock_is_retried_then_reported(engine: Engine, keys: Keys) -> None:
    impatient = db.make_engine(engine.url, sqlite_busy_timeout=0.05)
    sessions = db.make_sessionmaker(impatient)
    path = str(engine.url.database)
    try:
        holder = _hold_sqlite_lock(path, 0.3)
        # waits out the lock with retries
        assert db.run(sessions, lambda session: submission.submit_report(session, make_draft()))
        holder.join()

        holder = _hold_sqlite_lock(path, 0.6)
        with pytest.raises(errors.ReportBusy) as busy:
            db.run(sessions, lambda session: submission.submit_report(session, make_draft()), attempts=2)
        holder.join()
        assert "locked" in str(busy.value) and "opnieuw" in busy.value.user_message
        with sessions.begin() as session:
            assert len(casework.list_reports(session)) == 1
    finally:
        impatient.dispose()


def test_right_wrong_and_malformed_codes_cost_the_same_argon2_work(
    session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = submission.submit_report(session, make_draft())
    calls: list[bytes] = []
    real_derive = receipts._derive

    def counting(digits: str, purpose: bytes, secret: receipts.InstallationSecret) -> bytes:
        calls.append(purpose)
        return real_derive(digits, purpose, secret)

    monkeypatch.setattr(receipts, "_derive", counting)
    costs = []
    for code in (submitted.receipt_code, "1234 5678 9012 3456", "12"):
        calls.clear()
        with contextlib.suppress(UnknownReceipt):
            reporter.follow_up(session, code, SENDER)
        costs.append(sorted(calls))
    assert costs[0] == costs[1] == costs[2] == [b"receipt-hash", b"reporter-key"]
