"""One case, for the coordinator or handler who may see it: opening it, and every change a case worker makes.

Every function takes the staff member and checks the scope (`integrity.staff.scope`): a report outside it raises
`ReportNotFound`, exactly like an unknown reference. Every decrypting view and every change adds its audit entry
(`integrity.staff.audit`, identifiers only, never report content) to the same transaction, which the caller
commits: the change and the record of who made it are stored together or not at all.

Decrypting takes the staff member's unlocked private key (from the login session) and opens the report's key
through their grant (`report_keys.NoAccess` without one: the page shows the case as locked). Assigning and
forwarding move the grants with the scope (`access.follow_scope`) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.reports import casework, crypto, deadlines, report_keys, schemas, validation
from integrity.reports.errors import InvalidStatusChange, ReportNotFound
from integrity.reports.models import Report, ReportStatus
from integrity.reports.report_keys import Reader
from integrity.staff import access, audit, scope
from integrity.staff.caselist import CASE_ROLES, CaseRow, organisation_actors, summary_of
from integrity.staff.errors import CaseError, CaseForbidden
from integrity.staff.models import AuditEntry, CaseNote, Role, StaffUser

NOTE_MAX = 5000
REASON_MAX = validation.MESSAGE_MAX
HISTORY_MAX = 500


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
    detail: schemas.ReportDetail
    notes: list[Note]
    history: list[HistoryItem] = field(default_factory=list)


def find(session: Session, user: StaffUser, reference: str) -> Report:
    """The report if `user` may see it; ReportNotFound for unknown and out-of-scope references alike."""
    if user.role not in CASE_ROLES:
        raise ReportNotFound(f"staff user {user.id} ({user.role.value}) reads no reports")
    return scope.get_report(session, user, reference)


def open_case(session: Session, user: StaffUser, reference: str, private_key: PrivateKey, *,
              now: datetime | None = None) -> CaseView:
    """Decrypt the report, its messages, history and notes for `user`; marks reporter messages read; audited.

    `private_key` is `user`'s own; report_keys.NoAccess if they hold no key for this report.
    """
    now = now or deadlines.utcnow()
    report = find(session, user, reference)
    reader = Reader(user.id, private_key)
    report_private = report_keys.report_private_key(session, report, reader)  # NoAccess before anything changes
    row = summary_of(session, report, now)  # before read_report marks the reporter's messages read
    detail = casework.read_report(session, report.id, reader, now=now)
    audit.record(session, "report_viewed", user=user, report_reference=report.reference)
    notes = [
        Note(name or "(verwijderde gebruiker)", note.created_at,
             crypto.unseal(report_private, note.body_sealed).decode("utf-8"))
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
    casework.acknowledge(session, report.id, now=now)
    audit.record(session, "report_acknowledged", user=user, report_reference=report.reference)
    return True


def _clean(text: str, limit: int, label: str) -> str:
    cleaned = validation.clean_text(text or "")
    if len(cleaned) > limit:
        raise CaseError(f"{label} of {len(cleaned)} characters, maximum {limit}",
                        f"De tekst is te lang: maximaal {limit} tekens (nu {len(cleaned)}). Er is niets bewaard.")
    return cleaned


def allowed_statuses(current: ReportStatus) -> tuple[ReportStatus, ...]:
    """Where the status form may go from `current` (a new report is acknowledged on the way)."""
    if current == ReportStatus.NIEUW:
        return (ReportStatus.ONTVANGEN, *casework.ALLOWED_TRANSITIONS[ReportStatus.ONTVANGEN])
    return casework.ALLOWED_TRANSITIONS[current]


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
        casework.change_status(session, report.id, target, cleaned or None, now=now)
    except InvalidStatusChange as exc:
        raise CaseError(str(exc), "Deze statuswijziging kan niet vanuit de huidige status. Er is niets gewijzigd.") \
            from None
    audit.record(session, "status_changed", user=user, report_reference=report.reference,
                 detail=f"{old.value} -> {target.value}")
    return old


def assign(session: Session, user: StaffUser, reference: str, assignee_id: str,
           private_key: PrivateKey | None = None) -> StaffUser | None:
    """Coordinators assign the case to a coordinator or handler of their organisation ('' = nobody).

    The report key follows: the new assignee gets it (wrapped with `private_key`, the coordinator's own), a
    handler no longer in scope loses it, in this transaction.
    """
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
    audit.record(session, "assigned", user=user, report_reference=report.reference,
                 detail=assignee.username if assignee else "-")
    access.follow_scope(session, report, user, private_key)
    return assignee


def forward(session: Session, user: StaffUser, reference: str, actor: str, private_key: PrivateKey | None = None,
            *, now: datetime | None = None) -> None:
    """Coordinators forward the case to an actor of the organisation's profile: status `doorverwezen`.

    The actor's handlers get the report key (wrapped with `private_key`), the previous actor's handlers lose it.
    """
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
    if report.status != ReportStatus.DOORVERWEZEN:
        casework.change_status(session, report.id, ReportStatus.DOORVERWEZEN, None, now=now)
    audit.record(session, "forwarded", user=user, report_reference=report.reference, detail=actor)
    access.follow_scope(session, report, user, private_key, now=now)


def add_note(session: Session, user: StaffUser, reference: str, text: str, *, now: datetime | None = None) -> None:
    """An internal note, sealed to the report's key; never shown to the reporter."""
    report = find(session, user, reference)
    cleaned = _clean(text, NOTE_MAX, "note")
    if not cleaned:
        raise CaseError("empty note", "Schrijf eerst je notitie. Er is niets bewaard.")
    session.add(CaseNote(report_id=report.id, author_id=user.id, created_at=now or deadlines.utcnow(),
                         body_sealed=report_keys.seal_for_report(report, cleaned.encode("utf-8"))))
    audit.record(session, "note_added", user=user, report_reference=report.reference)


def reply(session: Session, user: StaffUser, reference: str, text: str, private_key: PrivateKey, *,
          now: datetime | None = None) -> None:
    """A message the reporter reads on the follow-up page with their receipt code."""
    report = find(session, user, reference)
    cleaned = _clean(text, validation.MESSAGE_MAX, "reply")
    if not cleaned:
        raise CaseError("empty reply", "Schrijf eerst je bericht. Er is niets verstuurd.")
    casework.reply_to_reporter(session, report.id, cleaned, Reader(user.id, private_key), now=now)
    audit.record(session, "reply_sent", user=user, report_reference=report.reference)
