"""Staff-side case work on reports: the scoped case list, opening a case, and every change a case worker makes.

Every function takes the staff member and checks the scope (`integrity.staff.scope`): a report outside it raises
`service.ReportNotFound`, exactly like an unknown reference. Every decrypting view and every change is written to
the audit log (`integrity.staff.audit`) with identifiers only, never report content.

The case list (`list_cases`) filters, sorts, counts and pages in SQL and decrypts nothing; the unread message
counts and last replies are then fetched for the shown page only, so the cost does not grow with the number of
reports beyond one indexed scan for the count and the sort.

Errors carry a Dutch `user_message` for the page and an English `str(exc)` for the log.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from nacl.public import PrivateKey
from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from integrity import profiles, report_flow
from integrity.errors import DataFileError
from integrity.reports import crypto, service
from integrity.reports.models import Author, Report, ReportMessage, ReportStatus
from integrity.staff import audit, scope
from integrity.staff.models import AuditEntry, CaseNote, Role, StaffUser

PER_PAGE = 50
NOTE_MAX = 5000
REASON_MAX = service.MESSAGE_MAX
HISTORY_MAX = 500
DAY_SECONDS = 86400
SORTS = ("termijn", "datum")  # next deadline first (default), newest first
OPEN = "open"  # status filter: everything not closed
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")
CASE_ROLES = (Role.COORDINATOR, Role.HANDLER)
NOT_FORWARDABLE = ("noodhulp_112", "zelfmoordlijn_1813")  # emergency lines in the profiles, not case handlers


# --- errors ----------------------------------------------------------------------------------------------------


class CaseError(Exception):
    """A change we refuse because of the input; `user_message` is Dutch, `str(exc)` English (no content)."""

    status_code = 400

    def __init__(self, operator_message: str, user_message: str) -> None:
        super().__init__(operator_message)
        self.user_message = user_message


class CaseForbidden(CaseError):
    """The staff member sees the case but their role may not do this (handlers do not assign or forward)."""

    status_code = 403


# --- the case list ---------------------------------------------------------------------------------------------


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
        if self.category is not None and not _IDENTIFIER.fullmatch(self.category):
            raise CaseError("malformed category filter", "Dit onderwerp bestaat niet.")
        if self.actor is not None and not _IDENTIFIER.fullmatch(self.actor):
            raise CaseError("malformed actor filter", "Deze actor bestaat niet.")
        if self.sort not in SORTS:
            raise CaseError(f"unknown sort '{self.sort[:30]}'", "Op deze manier kunnen we niet sorteren.")
        if self.page < 1:
            raise CaseError("page below 1", "Dit paginanummer bestaat niet.")


def days_left(due: datetime, now: datetime) -> int:
    """Whole days until `due`, rounded up (0 once it has passed)."""
    return max(0, math.ceil((due - now).total_seconds() / DAY_SECONDS))


def days_late(due: datetime, now: datetime) -> int:
    """Whole days since `due`, at least 1 once it has passed."""
    return max(1, math.floor((now - due).total_seconds() / DAY_SECONDS)) if now > due else 0


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: metadata, the assignee's name and the deadline badges' numbers."""

    summary: service.ReportSummary
    assignee_name: str | None
    now: datetime

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
    """SQL for `service.is_overdue`: acknowledgement late, or feedback late without a reply since the ack."""
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


_SUMMARY_COLUMNS = ("id", "reference", "profile_id", "category", "target_actor", "status", "created_at",
                    "acknowledged_at", "ack_due", "feedback_due", "closed_at")


def list_cases(session: Session, user: StaffUser, wanted: CaseFilter | None = None, *,
               per_page: int = PER_PAGE, now: datetime | None = None) -> CasePage:
    """One page of the reports `user` may see, filtered and sorted in SQL. Decrypts nothing."""
    wanted = wanted or CaseFilter()
    now = now or service.utcnow()
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
    columns = [getattr(Report, name) for name in _SUMMARY_COLUMNS]
    by_id = {row.id: row for row in session.execute(select(*columns, Report.assignee_id).where(Report.id.in_(ids)))} \
        if ids else {}
    found = [by_id[report_id] for report_id in ids if report_id in by_id]
    unread: dict[str, int] = {}
    last_reply: dict[str, datetime] = {}
    names: dict[int, str] = {}
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
        summary = service.ReportSummary(
            **{name: values[name] for name in _SUMMARY_COLUMNS},
            unread_messages=unread.get(row.id, 0), last_reply_at=last_reply.get(row.id),
        )
        rows.append(CaseRow(_flagged(summary, now), names.get(row.assignee_id) if row.assignee_id else None, now))
    return CasePage(rows, total, page, pages, per_page)


def _flagged(summary: service.ReportSummary, now: datetime) -> service.ReportSummary:
    return replace(summary, ack_overdue=service.is_ack_overdue(summary, now),
                   feedback_overdue=service.is_feedback_overdue(summary, now, summary.last_reply_at))


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


# --- one case --------------------------------------------------------------------------------------------------


def summary_of(session: Session, report: Report, now: datetime | None = None) -> CaseRow:
    """The list line of one report (metadata only)."""
    now = now or service.utcnow()
    unread = session.scalar(select(func.count(ReportMessage.id)).where(
        ReportMessage.report_id == report.id, ReportMessage.author == Author.REPORTER,
        ReportMessage.read_by_backoffice.is_(False))) or 0
    last_reply = session.scalar(select(func.max(ReportMessage.created_at)).where(
        ReportMessage.report_id == report.id, ReportMessage.author == Author.BACKOFFICE))
    summary = service.ReportSummary(**{name: getattr(report, name) for name in _SUMMARY_COLUMNS},
                                    unread_messages=unread, last_reply_at=last_reply)
    assignee = session.get(StaffUser, report.assignee_id) if report.assignee_id else None
    return CaseRow(_flagged(summary, now), assignee.display_name if assignee else None, now)


@dataclass(frozen=True)
class Note:
    author: str
    created_at: datetime
    text: str


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    who: str
    action: str  # an audit action name, or "status"
    detail: str
    reason: str | None = None


@dataclass(frozen=True)
class CaseView:
    row: CaseRow
    report: Report
    detail: service.ReportDetail
    notes: list[Note]
    history: list[HistoryItem] = field(default_factory=list)


def find(session: Session, user: StaffUser, reference: str) -> Report:
    """The report if `user` may see it; ReportNotFound for unknown and out-of-scope references alike."""
    if user.role not in CASE_ROLES:
        raise service.ReportNotFound(f"staff user {user.id} ({user.role.value}) reads no reports")
    return scope.get_report(session, user, reference)


def open_case(session: Session, user: StaffUser, reference: str, private_key: PrivateKey, *,
              now: datetime | None = None) -> CaseView:
    """Decrypt the report, its messages, history and notes for `user`; marks reporter messages read; audited."""
    now = now or service.utcnow()
    report = find(session, user, reference)
    row = summary_of(session, report, now)  # before read_report marks the reporter's messages read
    detail = service.read_report(session, report.id, private_key, now=now)
    audit.record(session, "report_viewed", user=user, report_reference=report.reference)
    notes = [
        Note(name or "(verwijderde gebruiker)", note.created_at,
             crypto.unseal(private_key, note.body_sealed).decode("utf-8"))
        for note, name in session.execute(
            select(CaseNote, StaffUser.display_name).outerjoin(StaffUser, StaffUser.id == CaseNote.author_id)
            .where(CaseNote.report_id == report.id).order_by(CaseNote.created_at, CaseNote.id))
    ]
    history = [HistoryItem(entry.at, "", "status",
                           f"{entry.from_status.value if entry.from_status else ''}->{entry.to_status.value}",
                           entry.reason) for entry in detail.history]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.report_reference == report.reference)
                              .order_by(AuditEntry.id.desc()).limit(HISTORY_MAX))
    history += [HistoryItem(entry.at, entry.username, entry.action, entry.detail) for entry in entries]
    history.sort(key=lambda item: item.at)
    return CaseView(row, report, detail, notes, history)


# --- changes ---------------------------------------------------------------------------------------------------


def acknowledge(session: Session, user: StaffUser, reference: str, *, now: datetime | None = None) -> bool:
    """Confirm receipt. False if it was already confirmed (nothing changes, nothing is audited)."""
    report = find(session, user, reference)
    if report.acknowledged_at is not None:
        return False
    service.acknowledge(session, report.id, now=now)
    audit.record(session, "report_acknowledged", user=user, report_reference=report.reference)
    return True


def _clean(text: str, limit: int, label: str) -> str:
    cleaned = service.clean_text(text or "")
    if len(cleaned) > limit:
        raise CaseError(f"{label} of {len(cleaned)} characters, maximum {limit}",
                        f"De tekst is te lang: maximaal {limit} tekens (nu {len(cleaned)}). Er is niets bewaard.")
    return cleaned


def allowed_statuses(current: ReportStatus) -> tuple[ReportStatus, ...]:
    """Where the status form may go from `current` (a new report is acknowledged on the way)."""
    if current == ReportStatus.NIEUW:
        return (ReportStatus.ONTVANGEN, *service.ALLOWED_TRANSITIONS[ReportStatus.ONTVANGEN])
    return service.ALLOWED_TRANSITIONS[current]


def change_status(session: Session, user: StaffUser, reference: str, to: str, reason: str, *,
                  now: datetime | None = None) -> ReportStatus:
    """Move the case to status `to` (closing needs a reason); the reason is sealed. Returns the old status."""
    report = find(session, user, reference)
    try:
        target = ReportStatus(to)
    except ValueError:
        raise CaseError(f"unknown status '{str(to)[:30]}'", "Kies een geldige nieuwe status. Er is niets gewijzigd.") \
            from None
    cleaned = _clean(reason, REASON_MAX, "reason")
    if target == ReportStatus.AFGESLOTEN and not cleaned:
        raise CaseError("closing without a reason",
                        "Geef een reden om de melding af te sluiten. Er is niets gewijzigd.")
    if target == ReportStatus.DOORVERWEZEN:
        raise CaseError("status doorverwezen through the status form",
                        "Gebruik de knop Doorverwijzen en kies naar wie de melding gaat. Er is niets gewijzigd.")
    old = report.status
    if target not in allowed_statuses(old):
        raise CaseError(f"status change {old.value} -> {target.value} not allowed",
                        "Deze statuswijziging kan niet vanuit de huidige status. Er is niets gewijzigd.")
    try:
        service.change_status(session, report.id, target, cleaned or None, now=now)
    except service.InvalidStatusChange as exc:
        session.rollback()
        raise CaseError(str(exc), "Deze statuswijziging kan niet vanuit de huidige status. Er is niets gewijzigd.") \
            from None
    audit.record(session, "status_changed", user=user, report_reference=report.reference,
                 detail=f"{old.value} -> {target.value}")
    return old


def assign(session: Session, user: StaffUser, reference: str, assignee_id: str) -> StaffUser | None:
    """Coordinators assign the case to a coordinator or handler of their organisation ('' = nobody)."""
    report = find(session, user, reference)
    if user.role != Role.COORDINATOR:
        raise CaseForbidden(f"{user.role.value} may not assign cases",
                            "Alleen een coördinator kan een melding toewijzen.")
    assignee: StaffUser | None = None
    if assignee_id:
        # ASCII digits only (isdigit() accepts "²", which int() refuses) and at most 18 of them (64-bit ids)
        wellformed = assignee_id.isascii() and assignee_id.isdigit() and len(assignee_id) <= 18
        candidate = session.get(StaffUser, int(assignee_id)) if wellformed else None
        if (candidate is None or not candidate.active or candidate.role not in CASE_ROLES
                or candidate.profile_id != report.profile_id):
            raise CaseError("assignee is not an active case worker of the report's organisation",
                            "Kies iemand van je eigen organisatie. Er is niets gewijzigd.")
        assignee = candidate
    report.assignee_id = assignee.id if assignee else None
    session.commit()
    audit.record(session, "assigned", user=user, report_reference=report.reference,
                 detail=assignee.username if assignee else "-")
    return assignee


def forward(session: Session, user: StaffUser, reference: str, actor: str, *, now: datetime | None = None) -> None:
    """Coordinators forward the case to an actor of the organisation's profile: status `doorverwezen`."""
    report = find(session, user, reference)
    if user.role != Role.COORDINATOR:
        raise CaseForbidden(f"{user.role.value} may not forward cases",
                            "Alleen een coördinator kan een melding doorverwijzen.")
    if actor not in organisation_actors(report.profile_id):
        raise CaseError("actor not in the organisation's profile",
                        "Kies een dienst of persoon uit de lijst. Er is niets gewijzigd.")
    if report.status == ReportStatus.AFGESLOTEN:
        raise CaseError("forwarding a closed report", "Een afgesloten melding kan je niet meer doorverwijzen.")
    report.target_actor = actor
    if report.status == ReportStatus.DOORVERWEZEN:
        session.commit()
    else:
        service.change_status(session, report.id, ReportStatus.DOORVERWEZEN, None, now=now)  # commits target_actor
    audit.record(session, "forwarded", user=user, report_reference=report.reference, detail=actor)


def add_note(session: Session, user: StaffUser, reference: str, text: str, *, now: datetime | None = None) -> None:
    """An internal note, sealed to the back office key; never shown to the reporter."""
    report = find(session, user, reference)
    cleaned = _clean(text, NOTE_MAX, "note")
    if not cleaned:
        raise CaseError("empty note", "Schrijf eerst je notitie. Er is niets bewaard.")
    session.add(CaseNote(report_id=report.id, author_id=user.id, created_at=now or service.utcnow(),
                         body_sealed=crypto.seal(crypto.load_public_key(), cleaned.encode("utf-8"))))
    session.commit()
    audit.record(session, "note_added", user=user, report_reference=report.reference)


def reply(session: Session, user: StaffUser, reference: str, text: str, private_key: PrivateKey, *,
          now: datetime | None = None) -> None:
    """A message the reporter reads on the follow-up page with their receipt code."""
    report = find(session, user, reference)
    cleaned = _clean(text, service.MESSAGE_MAX, "reply")
    if not cleaned:
        raise CaseError("empty reply", "Schrijf eerst je bericht. Er is niets verstuurd.")
    service.reply_to_reporter(session, report.id, cleaned, private_key, now=now)
    audit.record(session, "reply_sent", user=user, report_reference=report.reference)
