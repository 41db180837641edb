"""A retried submission (same submission id) stores no second report and ends with exactly one working code.

On SQLite and PostgreSQL. The end-to-end version (the action server killed right after storing) is in
tests/faults/test_server_crashes.py.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import casework, errors, reporter, submission
from integrity.reports.models import Report
from tests.plugins.report_store import Keys, make_draft

SUBMISSION = "a" * 24 + "0123456789abcdef"


def report_count(session: Session) -> int:
    session.commit()  # what the caller commits; the count then comes from a fresh snapshot
    return session.scalar(select(func.count(Report.id))) or 0


def opens(session: Session, code: str) -> bool:
    try:
        reporter.authenticate_reporter(session, code, throttle_key=None)
    except errors.UnknownReceipt:
        return False
    return True


def test_a_retry_gets_a_fresh_code_for_the_same_report(session: Session, keys: Keys) -> None:
    first = submission.submit_report(session, make_draft(), submission_id=SUBMISSION)
    retried = submission.submit_report(session, make_draft(), submission_id=SUBMISSION)
    assert report_count(session) == 1
    assert retried.reference == first.reference and retried.ack_due == first.ack_due
    assert retried.receipt_code != first.receipt_code
    assert not opens(session, first.receipt_code), "the code that was never shown no longer opens anything"
    view = reporter.follow_up(session, retried.receipt_code, throttle_key="sender-1")
    assert view.reference == first.reference and view.report["what_happened"] == make_draft().what_happened

    # The back office reads it and can still reach the reporter: the sealed reporter key is the new code's key.
    report_id = casework.list_reports(session)[0].id
    assert casework.read_report(session, report_id, keys.private).content["where"] == make_draft().where
    casework.reply_to_reporter(session, report_id, "Dank je, we bekijken het. RX-1", keys.private)
    assert [m.text for m in reporter.follow_up(session, retried.receipt_code, "sender-1").messages] == [
        "Dank je, we bekijken het. RX-1"]


def test_a_retry_after_a_correction_stores_the_corrected_report_everywhere(session: Session, keys: Keys) -> None:
    first = submission.submit_report(session, make_draft(), submission_id=SUBMISSION)
    corrected = make_draft(where="dienst personeel, gebouw C", category="belangenvermenging",
                           preferred_route="vertrouwenspersoon")
    retried = submission.submit_report(session, corrected, submission_id=SUBMISSION)
    assert report_count(session) == 1 and retried.reference == first.reference
    assert reporter.follow_up(session, retried.receipt_code, "sender-1").report["where"] == corrected.where
    summary = casework.list_reports(session)[0]
    assert (summary.category, summary.target_actor) == ("belangenvermenging", "vertrouwenspersoon")
    detail = casework.read_report(session, summary.id, keys.private)
    assert detail.content["where"] == corrected.where and detail.content["reference"] == first.reference


def test_other_or_no_submission_ids_are_separate_reports(session: Session, keys: Keys) -> None:
    codes = [submission.submit_report(session, make_draft(), submission_id=sid).receipt_code
             for sid in (SUBMISSION, SUBMISSION.replace("a", "b"), None, None)]
    assert report_count(session) == 4 and all(opens(session, code) for code in codes)
    stored = session.scalars(select(Report.submission_id).order_by(Report.submission_id)).all()
    assert sorted(s for s in stored if s) == sorted([SUBMISSION, SUBMISSION.replace("a", "b")])


def test_a_report_the_back_office_answered_is_not_re_keyed(session: Session, keys: Keys) -> None:
    first = submission.submit_report(session, make_draft(), submission_id=SUBMISSION)
    report_id = casework.list_reports(session)[0].id
    casework.reply_to_reporter(session, report_id, "Kan je meer vertellen? RX-2", keys.private)
    with pytest.raises(errors.SubmissionConflict) as raised:
        submission.submit_report(session, make_draft(what_happened="iets anders"),
                              submission_id=SUBMISSION)
    assert first.reference in raised.value.user_message and "ontvangstcode" in raised.value.user_message
    assert first.reference in str(raised.value) and "iets anders" not in str(raised.value)
    assert report_count(session) == 1
    view = reporter.follow_up(session, first.receipt_code, "sender-1")
    assert view.report["what_happened"] == make_draft().what_happened and view.messages[0].text.endswith("RX-2")


def test_malformed_submission_ids_are_refused(session: Session, keys: Keys) -> None:
    for bad in ("short", "x" * 65, "met spatie " * 3, "ä" * 20):
        with pytest.raises(ValueError):
            submission.submit_report(session, make_draft(), submission_id=bad)
    assert report_count(session) == 0


def test_concurrent_retries_store_one_report_with_one_working_code(sessions: sessionmaker[Session],
                                                                   keys: Keys) -> None:
    """Rasa gave up on a slow action server and the user sent again while the first attempt was still running."""
    codes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def submit() -> None:
        try:
            start.wait(timeout=30)
            with sessions.begin() as session:
                codes.append(submission.submit_report(session, make_draft(),
                                                   submission_id=SUBMISSION).receipt_code)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(codes) == 4
    with sessions() as session:
        assert report_count(session) == 1
        assert sum(opens(session, code) for code in codes) == 1, "the last attempt's code, and only that one"
        content = casework.read_report(session, casework.list_reports(session)[0].id, keys.private).content
    assert content["what_happened"] == make_draft().what_happened
