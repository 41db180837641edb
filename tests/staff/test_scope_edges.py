"""Who sees a report (integrity/staff/scope.py) in the cases the case list tests do not make: inactive staff,
staff without an organisation, an administrator who is (wrongly) the assignee, the role checks and the order of
`readers`. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrity.reports import errors, submission
from integrity.reports.models import Report
from integrity.staff import accounts, scope
from integrity.staff.models import Role, StaffUser
from tests.plugins.report_store import Keys, make_draft

PASSWORD = "een lang wachtwoord 42"
FLEMISH = "vlaamse-overheid"


def user(session: Session, name: str, role: Role, profile: str | None = FLEMISH,
         actor: str | None = None) -> StaffUser:
    return accounts.create_user(session, name, name.title(), role, PASSWORD, profile_id=profile, actor=actor)


def seen(session: Session, staff: StaffUser) -> set[str]:
    return set(session.scalars(select(Report.reference).where(scope.visible(staff))))


def test_inactive_staff_and_staff_without_an_organisation_see_nothing(session: Session, keys: Keys) -> None:
    report = submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    coordinator = user(session, "coord", Role.COORDINATOR)
    auditor = user(session, "auditor", Role.HANDLER, actor="audit_vlaanderen")
    homeless = user(session, "zonder", Role.COORDINATOR)
    homeless.profile_id = None  # accounts refuse this; the scope must hold all the same
    assert seen(session, coordinator) == seen(session, auditor) == {report.reference}
    assert seen(session, homeless) == set()
    coordinator.active = auditor.active = False
    session.flush()
    assert seen(session, coordinator) == seen(session, auditor) == set()
    try:
        scope.get_report(session, coordinator, report.reference)
        raise AssertionError("an inactive coordinator saw a report")
    except errors.ReportNotFound as exc:
        assert str(exc) == f"Report '{report.reference}' is not visible to staff user {coordinator.id}"


def test_a_handler_sees_what_is_assigned_or_forwarded_to_them_and_nothing_else(session: Session,
                                                                             keys: Keys) -> None:
    forwarded = submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    assigned = submission.submit_report(session, make_draft(preferred_route=None))
    other = submission.submit_report(session, make_draft(preferred_route=None))
    auditor = user(session, "auditor", Role.HANDLER, actor="audit_vlaanderen")
    plain = user(session, "gewoon", Role.HANDLER)
    elsewhere = user(session, "elders", Role.HANDLER, profile="federale-politie", actor="audit_vlaanderen")
    session.execute(update(Report).where(Report.reference == assigned.reference).values(assignee_id=plain.id))
    session.execute(update(Report).where(Report.reference == other.reference).values(assignee_id=auditor.id))
    session.flush()
    assert seen(session, auditor) == {forwarded.reference, other.reference}
    assert seen(session, plain) == {assigned.reference}
    assert seen(session, elsewhere) == set(), "the same actor in another organisation sees nothing"


def test_readers_never_include_an_administrator_and_come_in_id_order(session: Session, keys: Keys) -> None:
    report = submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    first = user(session, "coord-1", Role.COORDINATOR)
    user(session, "auditor", Role.HANDLER, actor="audit_vlaanderen")
    admin = user(session, "beheer", Role.ADMIN, profile=None)
    admin.profile_id, admin.actor = FLEMISH, "audit_vlaanderen"  # inconsistent on purpose
    user(session, "coord-2", Role.COORDINATOR)
    session.execute(update(Report).where(Report.reference == report.reference).values(assignee_id=admin.id))
    # An update writes a new row version, which PostgreSQL's table scan returns last; `readers` keeps the id order.
    session.execute(update(StaffUser).where(StaffUser.id == first.id).values(display_name="Eerste"))
    session.commit()
    stored = session.scalar(select(Report).where(Report.reference == report.reference))
    assert stored is not None
    # `lezer` is the fixture's coordinator with a key pair (a report needs a reader to be submitted).
    assert [u.username for u in scope.readers(session, stored)] == ["lezer", "coord-1", "auditor", "coord-2"]
    assert seen(session, admin) == set()


def test_readers_of_a_report_without_organisation_are_nobody(session: Session, keys: Keys) -> None:
    report = submission.submit_report(session, make_draft())
    user(session, "coord", Role.COORDINATOR)
    stored = session.scalar(select(Report).where(Report.reference == report.reference))
    assert stored is not None
    stored.profile_id = None  # type: ignore[assignment]  (never stored so; the rule must still hold)
    assert scope.readers(session, stored) == []


def test_role_checks() -> None:
    def staff(role: Role) -> StaffUser:
        return StaffUser(username=role.value, display_name=role.value, role=role, password_hash="x")

    assert [scope.can_read_reports(staff(role)) for role in Role] == [False, True, True]
    assert [scope.can_manage_cases(staff(role)) for role in Role] == [False, True, False]
