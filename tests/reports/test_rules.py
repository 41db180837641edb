"""Validation of drafts and deadline arithmetic (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from integrity.reports import deadlines, schemas
from integrity.reports.deadlines import add_months
from integrity.reports.errors import ReportValidationError
from integrity.reports.models import ReportStatus
from integrity.reports.validation import validate_draft
from tests.plugins.report_store import make_draft

UTC = timezone.utc


@pytest.mark.parametrize("field", ["what_happened", "category", "profile_id"])
@pytest.mark.parametrize("empty", ["", "   \n\t ", "\x00\x07"])
def test_required_fields_must_not_be_empty(field: str, empty: str) -> None:
    with pytest.raises(ReportValidationError) as error:
        validate_draft(make_draft(**{field: empty}))
    assert error.value.field == field
    assert field in str(error.value)  # English operator message names the field
    assert error.value.user_message  # Dutch message for the reporter


def test_huge_text_is_refused_with_a_dutch_message() -> None:
    validate_draft(make_draft(what_happened="x" * 5000))
    with pytest.raises(ReportValidationError) as error:
        validate_draft(make_draft(what_happened="x" * 5001))
    assert error.value.field == "what_happened"
    assert "maximaal 5000 tekens" in error.value.user_message
    assert "5001 characters, maximum 5000" in str(error.value)


def test_control_characters_are_stripped_but_newlines_tabs_emoji_and_html_kept() -> None:
    dirty = "  a\x00b\x1bc\r\nd\te 👩‍💻 <i>x</i>\u200b  "
    fields = validate_draft(make_draft(what_happened=dirty, when="\x07gisteren"))
    assert fields["what_happened"] == "abc\nd\te 👩‍💻 <i>x</i>\u200b"
    assert fields["when"] == "gisteren"


def test_other_fields_are_checked() -> None:
    with pytest.raises(ReportValidationError, match="channel"):
        validate_draft(make_draft(channel="sms"))
    with pytest.raises(ReportValidationError, match="preferred_route"):
        validate_draft(make_draft(preferred_route="Audit Vlaanderen!"))
    with pytest.raises(ReportValidationError) as error:
        validate_draft(make_draft(anonymous=False, contact="  "))
    assert error.value.field == "contact" and "anoniem" in error.value.user_message
    fields = validate_draft(make_draft(anonymous=False, contact="0470 12 34 56"))
    assert fields["contact"] == "0470 12 34 56" and fields["anonymous"] is False
    assert validate_draft(make_draft(preferred_route="", contact=""))["preferred_route"] is None


@pytest.mark.parametrize(("start", "expected"), [
    (datetime(2026, 1, 15, 8, 30, tzinfo=UTC), datetime(2026, 4, 15, 8, 30, tzinfo=UTC)),
    (datetime(2026, 11, 30, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC)),
    (datetime(2027, 11, 30, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
    (datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC)),
    (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
])
def test_feedback_deadline_is_three_calendar_months(start: datetime, expected: datetime) -> None:
    assert add_months(start, 3) == expected
    assert deadlines.feedback_due_for(start - timedelta(days=3), start) == expected
    assert deadlines.feedback_due_for(start, None) == expected
    assert deadlines.ack_due_for(start) == start + timedelta(days=7)


def test_overdue_helpers() -> None:
    created = datetime(2026, 3, 1, tzinfo=UTC)
    summary = schemas.ReportSummary(
        id="x", reference="M-2026-AAAAAA", profile_id="p", category="c", target_actor=None,
        status=ReportStatus.NIEUW, created_at=created, acknowledged_at=None, ack_due=deadlines.ack_due_for(created),
        feedback_due=deadlines.feedback_due_for(created, None), closed_at=None,
    )
    assert not deadlines.is_overdue(summary, created + timedelta(days=7))
    assert deadlines.is_ack_overdue(summary, created + timedelta(days=7, seconds=1))
    assert deadlines.is_feedback_overdue(summary, datetime(2026, 6, 2, tzinfo=UTC))
    assert not deadlines.is_feedback_overdue(summary, datetime(2026, 6, 2, tzinfo=UTC),
                                           last_reply_at=created + timedelta(days=10))
