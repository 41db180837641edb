"""Which reports a staff member may see. Every back office query on reports goes through `visible()`.

- admin: none (manages accounts and reads the audit log, like a GlobaLeaks administrator);
- coordinator: every report of their organisation;
- handler: reports of their organisation assigned to them, or forwarded to their actor.
A report outside the scope is reported as not found, never as forbidden: its existence is not revealed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from integrity.reports import casework, errors
from integrity.reports.models import Report
from integrity.staff.models import Role, StaffUser


def visible(user: StaffUser) -> ColumnElement[bool]:
    if user.role == Role.ADMIN or user.profile_id is None or not user.active:
        return false()
    same_organisation = Report.profile_id == user.profile_id
    if user.role == Role.COORDINATOR:
        return same_organisation
    mine = Report.assignee_id == user.id
    if user.actor:
        mine = or_(mine, Report.target_actor == user.actor)
    return and_(same_organisation, mine)


def readers(session: Session, report: Report) -> list[StaffUser]:
    """The active staff members who may read `report` under the rules above (the mirror image of `visible`)."""
    if report.profile_id is None:
        return []
    who = or_(StaffUser.role == Role.COORDINATOR, StaffUser.id == report.assignee_id)
    if report.target_actor:
        who = or_(who, and_(StaffUser.role == Role.HANDLER, StaffUser.actor == report.target_actor))
    query = (select(StaffUser)
             .where(StaffUser.active.is_(True), StaffUser.profile_id == report.profile_id,
                    StaffUser.role != Role.ADMIN, who)
             .order_by(StaffUser.id))
    return list(session.scalars(query))


def get_report(session: Session, user: StaffUser, key: str) -> Report:
    """The report with this id or reference if `user` may see it, else errors.ReportNotFound."""
    report = casework.get_report(session, key)  # raises ReportNotFound
    allowed = session.scalar(select(Report.id).where(Report.id == report.id, visible(user)))
    if allowed is None:
        raise errors.ReportNotFound(f"Report '{key[:60]}' is not visible to staff user {user.id}")
    return report


def can_read_reports(user: StaffUser) -> bool:
    return user.role in (Role.COORDINATOR, Role.HANDLER)


def can_manage_cases(user: StaffUser) -> bool:
    """Assigning to someone else and statistics are for coordinators."""
    return user.role == Role.COORDINATOR
