"""The scoped case list: filters, sorting and pages in SQL, with the deadline badges; decrypts nothing.

The unread message counts and last replies are fetched for the shown page only, so the cost does not grow with
the number of reports beyond one indexed scan for the count and the sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from integrity import profiles, report_flow
from integrity.errors import DataFileError
from integrity.ids import IDENTIFIER
from integrity.reports import casework, deadlines, report_keys, schemas
from integrity.reports.deadlines import days_late, days_left
from integrity.reports.models import Author, Report, ReportMessage, ReportStatus
from integrity.staff import scope
from integrity.staff.errors import CaseError
from integrity.staff.models import Role, StaffUser

PER_PAGE = 50
SORTS = ("termijn", "datum")  # next deadline first (default), newest first
OPEN = "open"  # status filter: everything not closed
CASE_ROLES = (Role.COORDINATOR, Role.HANDLER)
NOT_FORWARDABLE = ("noodhulp_112", "zelfmoordlijn_1813")  # emergency lines in the profiles, not case handlers


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None  # a ReportStatus value or OPEN
    category: str | None = None
    actor: str | None = None  # Report.target_actor
    mine: bool = False  # assigned to the staff member
    overdue: bool = False
    sort: str = "termijn"
    page: int = 1

    def __post_init__(self) -> None:
        if self.status is not None and self.status != OPEN and self.status not in {s.value for s in ReportStatus}:
            raise CaseError(f"unknown status filter '{self.status[:30]}'", "Deze status bestaat niet.")
        if self.category is not None and not IDENTIFIER.fullmatch(self.category):
            raise CaseError("malformed category filter", "Dit onderwerp bestaat niet.")
        if self.actor is not None and not IDENTIFIER.fullmatch(self.actor):
            raise CaseError("malformed actor filter", "Deze actor bestaat niet.")
        if self.sort not in SORTS:
            raise CaseError(f"unknown sort '{self.sort[:30]}'", "Op deze manier kunnen we niet sorteren.")
        if self.page < 1:
            raise CaseError("page below 1", "Dit paginanummer bestaat niet.")


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: metadata, the assignee's name and the deadline badges' numbers."""

    summary: schemas.ReportSummary
    assignee_name: str | None
    now: datetime
    has_key: bool = True  # False: in scope, but no wrapped key for this staff member yet ("wacht op toegang")

    @property
    def closed(self) -> bool:
        return self.summary.status == ReportStatus.AFGESLOTEN

    @property
    def awaiting_ack(self) -> bool:
        return not self.closed and self.summary.acknowledged_at is None

    @property
    def feedback_given(self) -> bool:
        since = self.summary.acknowledged_at or self.summary.created_at
        return self.summary.last_reply_at is not None and self.summary.last_reply_at >= since

    @property
    def awaiting_feedback(self) -> bool:
        return not self.closed and self.summary.acknowledged_at is not None and not self.feedback_given

    @property
    def ack_days_left(self) -> int:
        return days_left(self.summary.ack_due, self.now)

    @property
    def ack_days_late(self) -> int:
        return days_late(self.summary.ack_due, self.now)

    @property
    def feedback_days_left(self) -> int:
        return days_left(self.summary.feedback_due, self.now)

    @property
    def feedback_days_late(self) -> int:
        return days_late(self.summary.feedback_due, self.now)


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    pages: int
    per_page: int


def _next_deadline() -> ColumnElement[Any]:
    """The deadline a case worker must meet next: acknowledgement, else feedback; none once closed."""
    return case(
        (Report.status == ReportStatus.AFGESLOTEN, None),
        (Report.acknowledged_at.is_(None), Report.ack_due),
        else_=Report.feedback_due,
    )


def _reply_since_ack() -> ColumnElement[bool]:
    return exists().where(
        ReportMessage.report_id == Report.id, ReportMessage.author == Author.BACKOFFICE,
        ReportMessage.created_at >= func.coalesce(Report.acknowledged_at, Report.created_at),
    )


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for `deadlines.is_overdue`: acknowledgement late, or feedback late without a reply since the ack."""
    ack_late = and_(Report.acknowledged_at.is_(None), Report.ack_due < now)
    feedback_late = and_(Report.status != ReportStatus.AFGESLOTEN, Report.feedback_due < now,
                         not_(_reply_since_ack()))
    return or_(ack_late, feedback_late)


def _conditions(user: StaffUser, wanted: CaseFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [scope.visible(user)]
    if wanted.status == OPEN:
        conditions.append(Report.status != ReportStatus.AFGESLOTEN)
    elif wanted.status:
        conditions.append(Report.status == ReportStatus(wanted.status))
    if wanted.category:
        conditions.append(Report.category == wanted.category)
    if wanted.actor:
        conditions.append(Report.target_actor == wanted.actor)
    if wanted.mine:
        conditions.append(Report.assignee_id == user.id)
    if wanted.overdue:
        conditions.append(overdue_clause(now))
    return conditions


def list_cases(session: Session, user: StaffUser, wanted: CaseFilter | None = None, *,
               per_page: int = PER_PAGE, now: datetime | None = None) -> CasePage:
    """One page of the reports `user` may see, filtered and sorted in SQL. Decrypts nothing."""
    wanted = wanted or CaseFilter()
    now = now or deadlines.utcnow()
    conditions = _conditions(user, wanted, now)
    total = session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0  # index-only
    pages = max(1, -(-total // per_page))
    page = min(wanted.page, pages)
    if wanted.sort == "datum":
        order: list[Any] = [Report.created_at.desc(), Report.id]
    else:
        deadline = _next_deadline()
        order = [deadline.is_(None), deadline, Report.created_at, Report.id]
    # Two steps: the page's ids from the covering index ix_reports_case_list (no table row is read for the
    # reports that are not shown), then the shown reports' metadata.
    ids = list(session.scalars(select(Report.id).where(*conditions).order_by(*order)
                               .limit(per_page).offset((page - 1) * per_page)))
    columns = [getattr(Report, name) for name in casework.SUMMARY_COLUMNS]
    by_id = {row.id: row for row in session.execute(select(*columns, Report.assignee_id).where(Report.id.in_(ids)))} \
        if ids else {}
    found = [by_id[report_id] for report_id in ids if report_id in by_id]
    unread: dict[str, int] = {}
    last_reply: dict[str, datetime] = {}
    names: dict[int, str] = {}
    keyed = report_keys.granted_among(session, user.id, ids)
    if ids:
        unread = {report_id: count for report_id, count in session.execute(
            select(ReportMessage.report_id, func.count(ReportMessage.id))
            .where(ReportMessage.report_id.in_(ids), ReportMessage.author == Author.REPORTER,
                   ReportMessage.read_by_backoffice.is_(False))
            .group_by(ReportMessage.report_id))}
        last_reply = {report_id: at for report_id, at in session.execute(
            select(ReportMessage.report_id, func.max(ReportMessage.created_at))
            .where(ReportMessage.report_id.in_(ids), ReportMessage.author == Author.BACKOFFICE)
            .group_by(ReportMessage.report_id))}
        assignees = {row.assignee_id for row in found if row.assignee_id is not None}
        if assignees:
            names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)
                                         .where(StaffUser.id.in_(assignees))).all())
    rows = []
    for row in found:
        values = row._mapping
        summary = schemas.ReportSummary(
            **{name: values[name] for name in casework.SUMMARY_COLUMNS},
            unread_messages=unread.get(row.id, 0), last_reply_at=last_reply.get(row.id),
        )
        assignee = names.get(row.assignee_id) if row.assignee_id else None
        rows.append(CaseRow(casework.with_flags(summary, now), assignee, now, row.id in keyed))
    return CasePage(rows, total, page, pages, per_page)


def report_categories() -> list[str]:
    """The topics a report can have (the chat's report form offers these); no query over the reports."""
    return report_flow.categories()


def organisation_actors(profile_id: str | None) -> dict[str, str]:
    """Actor id -> Dutch name of the profile's actors a case can go to ({} if the profile is missing)."""
    if not profile_id:
        return {}
    try:
        profile = profiles.get_profile(profile_id)
    except DataFileError:  # a removed or broken profile file must not take the case pages down
        return {}
    return {actor_id: actor.name for actor_id, actor in profile.actors.items() if actor_id not in NOT_FORWARDABLE}


def colleagues(session: Session, user: StaffUser) -> list[StaffUser]:
    """Active coordinators and handlers of `user`'s organisation: who a case can be assigned to."""
    if user.profile_id is None:
        return []
    return list(session.scalars(
        select(StaffUser).where(StaffUser.profile_id == user.profile_id, StaffUser.active.is_(True),
                                StaffUser.role.in_(CASE_ROLES))
        .order_by(StaffUser.display_name, StaffUser.username)))


def summary_of(session: Session, report: Report, now: datetime | None = None,
               user: StaffUser | None = None) -> CaseRow:
    """The list line of one report (metadata only); `has_key` for `user` if given."""
    now = now or deadlines.utcnow()
    unread = session.scalar(select(func.count(ReportMessage.id)).where(
        ReportMessage.report_id == report.id, ReportMessage.author == Author.REPORTER,
        ReportMessage.read_by_backoffice.is_(False))) or 0
    last_reply = session.scalar(select(func.max(ReportMessage.created_at)).where(
        ReportMessage.report_id == report.id, ReportMessage.author == Author.BACKOFFICE))
    summary = schemas.ReportSummary(**{name: getattr(report, name) for name in casework.SUMMARY_COLUMNS},
                                    unread_messages=unread, last_reply_at=last_reply)
    assignee = session.get(StaffUser, report.assignee_id) if report.assignee_id else None
    has_key = user is None or report_keys.has_access(session, report.id, user.id)
    return CaseRow(casework.with_flags(summary, now), assignee.display_name if assignee else None, now, has_key)
