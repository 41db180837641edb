"""The staff case store (`integrity.staff.cases`) on SQLite and PostgreSQL: the scoped SQL case list (filters,
overdue, sort by next deadline, pages, unread counts) agrees with the report service's Python rules, and the case
changes (notes, assignment, forwarding, status) store what they should and refuse what they should.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.reports import casework, deadlines, errors, reporter, submission
from integrity.reports.models import Report, ReportStatus
from integrity.staff import accounts, caselist, cases, scope, user_keys
from integrity.staff.errors import CaseError, CaseForbidden
from integrity.staff.models import AuditEntry, CaseNote, Role, StaffUser
from tests.plugins.report_store import Keys, make_draft

PASSWORD = "een lang wachtwoord 42"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=deadlines.utcnow().tzinfo)


def user(session: Session, name: str, role: Role, profile: str | None, actor: str | None = None) -> StaffUser:
    return accounts.create_user(session, name, name, role, PASSWORD, profile_id=profile, actor=actor)


def key_of(staff_member: StaffUser) -> PrivateKey:
    """The staff member's private key, opened with their password as at login."""
    private = user_keys.unlock(staff_member, PASSWORD)
    assert private is not None
    return private


def report(session: Session, keys: Keys, days_ago: float, **changes: object) -> Report:
    submitted = submission.submit_report(session, make_draft(**changes),
                                         now=NOW - timedelta(days=days_ago))
    found = session.scalar(select(Report).where(Report.reference == submitted.reference))
    assert found is not None
    return found


def next_deadline(item: Report) -> tuple[int, datetime, datetime, str]:
    """The list's order in Python: open cases by the deadline due next, closed ones last; ties by date, id."""
    if item.status == ReportStatus.AFGESLOTEN:
        return (1, item.created_at, item.created_at, item.id)
    return (0, item.ack_due if item.acknowledged_at is None else item.feedback_due, item.created_at, item.id)


@pytest.fixture
def world(session: Session, keys: Keys) -> dict[str, object]:
    """Two organisations, their staff and a spread of reports with deadlines met, due and missed."""
    staff = {
        "coord": user(session, "coord-a", Role.COORDINATOR, "vlaamse-overheid"),
        "coord_b": user(session, "coord-b", Role.COORDINATOR, "federale-politie"),
        "handler": user(session, "handler-a", Role.HANDLER, "vlaamse-overheid", "vertrouwenspersoon"),
        "admin": user(session, "beheerder", Role.ADMIN, None),
    }
    reports = {
        "fresh": report(session, keys, 0.5, preferred_route="vertrouwenspersoon", category="pesten"),
        "ack_late": report(session, keys, 9),
        "ack_soon": report(session, keys, 6.5),
        "feedback_late": report(session, keys, 130),
        "feedback_answered": report(session, keys, 130),  # late, but a reply after the ack meets it
        "answered_before_ack": report(session, keys, 140),
        "closed": report(session, keys, 200),
        "other_org": report(session, keys, 20, profile_id="federale-politie", preferred_route="comite_p"),
    }
    for name in ("feedback_late", "feedback_answered"):
        casework.acknowledge(session, reports[name].id, now=NOW - timedelta(days=120))
    casework.reply_to_reporter(session, reports["feedback_answered"].id, "Stand van zaken", keys.private,
                              now=NOW - timedelta(days=30))
    casework.reply_to_reporter(session, reports["answered_before_ack"].id, "Ontvangen", keys.private,
                              now=NOW - timedelta(days=139))  # acknowledges at the same moment
    casework.acknowledge(session, reports["answered_before_ack"].id)  # no-op: already acknowledged
    casework.change_status(session, reports["closed"].id, "afgesloten", "dubbel",
                          now=NOW - timedelta(days=100))
    reports["ack_late"].assignee_id = staff["handler"].id
    session.commit()
    return {"staff": staff, "reports": reports}


def references(page: caselist.CasePage) -> list[str]:
    return [row.summary.reference for row in page.rows]


def test_scope_organisation_and_handler(session: Session, world: dict[str, object]) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    own = {r.reference for name, r in reports.items() if name != "other_org"}
    coord = caselist.list_cases(session, staff["coord"], now=NOW)
    assert set(references(coord)) == own and coord.total == len(own)
    assert references(caselist.list_cases(session, staff["coord_b"], now=NOW)) == [reports["other_org"].reference]
    handler = caselist.list_cases(session, staff["handler"], now=NOW)  # forwarded to their actor, or assigned
    assert set(references(handler)) == {reports["fresh"].reference, reports["ack_late"].reference}
    assert caselist.list_cases(session, staff["admin"], now=NOW).total == 0


def test_readers_are_exactly_the_staff_who_see_the_report(session: Session, world: dict[str, object],
                                                           keys: Keys) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    inactive = user(session, "coord-weg", Role.COORDINATOR, "vlaamse-overheid")
    inactive.active = False
    session.commit()
    everyone = [*staff.values(), inactive, *session.scalars(select(StaffUser).where(StaffUser.username.like("lezer%")))]
    for item in reports.values():
        seeing = {u.username for u in everyone
                  if session.scalar(select(Report.id).where(Report.id == item.id, scope.visible(u)))}
        assert {u.username for u in scope.readers(session, item)} == seeing
    assert {u.username for u in scope.readers(session, reports["fresh"])} == {"coord-a", "handler-a", "lezer"}


def test_overdue_in_sql_matches_the_service_rules(session: Session, world: dict[str, object]) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    page = caselist.list_cases(session, staff["coord"], caselist.CaseFilter(overdue=True), now=NOW)
    expected = {s.reference for s in casework.list_reports(session, "vlaamse-overheid", overdue_only=True, now=NOW)}
    assert set(references(page)) == expected == {reports["ack_late"].reference, reports["feedback_late"].reference}
    assert all(row.summary.ack_overdue or row.summary.feedback_overdue for row in page.rows)
    rows = {row.summary.reference: row for row in caselist.list_cases(session, staff["coord"], now=NOW).rows}
    assert rows[reports["ack_soon"].reference].ack_days_left == 1
    assert rows[reports["ack_late"].reference].ack_days_late == 2
    assert rows[reports["feedback_answered"].reference].feedback_given
    assert not rows[reports["feedback_late"].reference].feedback_given


def test_sort_by_next_deadline_and_by_date(session: Session, world: dict[str, object]) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    own = [r for name, r in reports.items() if name != "other_org"]
    for item in own:
        session.refresh(item)
    by_deadline = references(caselist.list_cases(session, staff["coord"], now=NOW))
    assert by_deadline == [r.reference for r in sorted(own, key=next_deadline)]
    assert by_deadline[-1] == reports["closed"].reference
    by_date = references(caselist.list_cases(session, staff["coord"], caselist.CaseFilter(sort="datum"), now=NOW))
    newest_first = sorted(sorted(own, key=lambda r: r.id), key=lambda r: r.created_at, reverse=True)  # ties: id
    assert by_date == [r.reference for r in newest_first]


def test_filters_and_pages(session: Session, world: dict[str, object], keys: Keys) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    coord = staff["coord"]

    def refs(**wanted: object) -> set[str]:
        return set(references(caselist.list_cases(session, coord, caselist.CaseFilter(**wanted), now=NOW)))  # type: ignore[arg-type]

    assert refs(status="afgesloten") == {reports["closed"].reference}
    assert reports["closed"].reference not in refs(status="open")
    assert refs(status="nieuw") == {reports[n].reference for n in ("fresh", "ack_late", "ack_soon")}
    assert refs(category="pesten") == refs(actor="vertrouwenspersoon") == {reports["fresh"].reference}
    assert refs(mine=True) == set()
    reports["ack_soon"].assignee_id = coord.id
    session.commit()
    assert refs(mine=True) == {reports["ack_soon"].reference}
    assert refs(mine=True, overdue=True) == set()

    seen: list[str] = []
    for number in (1, 2, 3):
        page = caselist.list_cases(session, coord, caselist.CaseFilter(page=number), per_page=3, now=NOW)
        assert (page.total, page.pages, page.page) == (7, 3, number)
        seen += references(page)
    assert len(seen) == len(set(seen)) == 7
    assert seen == references(caselist.list_cases(session, coord, per_page=50, now=NOW))
    assert caselist.list_cases(session, coord, caselist.CaseFilter(page=99), per_page=3, now=NOW).page == 3


def test_unread_counts_only_unread_reporter_messages(session: Session, world: dict[str, object], keys: Keys) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    code = submission.submit_report(session, make_draft(), now=NOW).receipt_code
    reporter.add_reporter_message(session, code, "nog iets")
    reporter.add_reporter_message(session, code, "en nog iets")
    rows = caselist.list_cases(session, staff["coord"], caselist.CaseFilter(sort="datum"), now=NOW).rows
    assert [row.summary.unread_messages for row in rows][:2] == [2, 0]
    reference = rows[0].summary.reference
    view = cases.open_case(session, staff["coord"], reference, key_of(staff["coord"]), now=NOW)
    assert view.row.summary.unread_messages == 2  # as it was when opened
    assert caselist.list_cases(session, staff["coord"], caselist.CaseFilter(sort="datum"), now=NOW).rows[0] \
        .summary.unread_messages == 0


@pytest.mark.parametrize("bad", [{"status": "weg"}, {"category": "A B"}, {"actor": "x;y"}, {"sort": "x"},
                                 {"page": 0}])
def test_bad_filters_are_refused_in_dutch(bad: dict[str, object]) -> None:
    with pytest.raises(CaseError) as error:
        caselist.CaseFilter(**bad)  # type: ignore[arg-type]
    assert error.value.user_message.startswith(("Deze", "Dit", "Op deze"))


def test_case_changes_store_and_refuse(session: Session, world: dict[str, object], keys: Keys) -> None:
    staff, reports = world["staff"], world["reports"]
    assert isinstance(staff, dict) and isinstance(reports, dict)
    coord, handler, other = staff["coord"], staff["handler"], staff["coord_b"]
    target = reports["ack_soon"]

    cases.add_note(session, coord, target.reference, "  Eerst de facturen opvragen.  ")
    note = session.scalar(select(CaseNote).where(CaseNote.report_id == target.id))
    assert note is not None and b"facturen" not in note.body_sealed
    with pytest.raises(CaseError, match="note of 5001"):
        cases.add_note(session, coord, target.reference, "x" * 5001)

    with pytest.raises(CaseError):
        cases.assign(session, coord, target.reference, str(other.id))
    with pytest.raises(CaseForbidden):
        cases.assign(session, handler, reports["fresh"].reference, str(coord.id))
    assert cases.assign(session, coord, target.reference, str(handler.id), key_of(coord)) == handler
    assert target.assignee_id == handler.id

    with pytest.raises(CaseError):
        cases.change_status(session, coord, target.reference, "afgesloten", " ")
    with pytest.raises(CaseError):
        cases.forward(session, coord, target.reference, "comite_p")  # an actor of the other organisation
    cases.forward(session, coord, target.reference, "audit_vlaanderen", key_of(coord))
    session.commit()
    session.refresh(target)
    assert (target.status, target.target_actor) == (ReportStatus.DOORVERWEZEN, "audit_vlaanderen")
    assert target.acknowledged_at is not None
    assert cases.change_status(session, handler, target.reference, "in_behandeling", "") == ReportStatus.DOORVERWEZEN
    cases.change_status(session, handler, target.reference, "afgesloten", "Afgehandeld")

    view = cases.open_case(session, handler, target.reference, key_of(handler))
    assert [n.text for n in view.notes] == ["Eerst de facturen opvragen."]
    assert view.detail.close_reason == "Afgehandeld"
    actions = [item.action for item in view.history]
    for action in ("status", "note_added", "assigned", "forwarded", "status_changed", "report_viewed"):
        assert action in actions
    assert [item.at for item in view.history] == sorted(item.at for item in view.history)
    logged = set(session.scalars(select(AuditEntry.username).where(AuditEntry.report_reference == target.reference)))
    assert logged == {"coord-a", "handler-a"}

    for staff_member in (other, staff["admin"]):
        with pytest.raises(errors.ReportNotFound):
            cases.find(session, staff_member, target.reference)
        with pytest.raises(errors.ReportNotFound):
            cases.add_note(session, staff_member, target.reference, "mag niet")
