"""Who holds a report's key: grants follow the scope rules (`scope.readers`), changes are audited by the caller.

- at submission, `grant_readers` wraps the new report's key for every reader in scope who has a key pair;
- after an assignment or a forward, `follow_scope` revokes the keys of those no longer in scope and, with the
  acting staff member's key, grants it to those newly in scope (in the same transaction as the change);
- deactivating an account deletes all its wrapped keys (`revoke_user`);
- every grant after submission queues an `access_granted` mail for its receiver (integrity.notifications);
- a staff member in scope without a key (a new coordinator, a new key pair after a reset) waits until a colleague
  who has access grants it (`waiting`, `grant_colleague`): the case list shows "wacht op toegang".
Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nacl.public import PrivateKey
from sqlalchemy import and_, exists, func, not_, select
from sqlalchemy.orm import Session

from integrity.notifications import events
from integrity.reports import report_keys
from integrity.reports.errors import NoReaders
from integrity.reports.models import Report, ReportKeyGrant
from integrity.reports.report_keys import Reader
from integrity.staff import audit, scope
from integrity.staff.models import StaffUser


@dataclass(frozen=True)
class AccessChange:
    granted: list[StaffUser]
    revoked: list[int]
    waiting: list[StaffUser]  # in scope, but no key could be wrapped for them now


def grant_readers(session: Session, report: Report, report_private: PrivateKey, *,
                  granted_by: StaffUser | None = None, now: datetime | None = None,
                  require_one: bool = True) -> AccessChange:
    """Wrap the report key for every reader in scope with a key pair (nobody is revoked).

    `require_one`: errors.NoReaders if nobody got it (such a report could never be read).
    """
    granted, waiting = [], []
    for reader in scope.readers(session, report):
        if reader.public_key is None:
            waiting.append(reader)
        elif report_keys.grant(session, report, report_private, reader.id, reader.public_key,
                               granted_by=granted_by.id if granted_by else None, now=now):
            granted.append(reader)
    if require_one and not granted and not report_keys.holders(session, report.id):
        raise NoReaders(f"No staff member of {report.profile_id} who may read report {report.reference} has a key "
                        "pair yet: create a coordinator (python -m integrity.staff create-user) first")
    return AccessChange(granted, [], waiting)


def _audit(session: Session, actor: StaffUser, report: Report, change: AccessChange) -> None:
    names = {user.id: user.username for user in session.scalars(select(StaffUser).where(
        StaffUser.id.in_(change.revoked)))} if change.revoked else {}
    for user in change.granted:
        audit.record(session, "access_granted", user=actor, report_reference=report.reference,
                     detail=f"to {user.username}")
    for user_id in change.revoked:
        audit.record(session, "access_revoked", user=actor, report_reference=report.reference,
                     detail=f"from {names.get(user_id, user_id)}")


def follow_scope(session: Session, report: Report, actor: StaffUser, actor_key: PrivateKey | None, *,
                 now: datetime | None = None) -> AccessChange:
    """After a change of assignee or actor: keys for exactly the readers in scope, audited as `actor`.

    Revoking needs no key. Granting needs the report key, opened with `actor_key` (the acting staff member's
    own grant); without it the new readers wait for a colleague (`waiting`).
    """
    session.flush()
    readers = scope.readers(session, report)
    in_scope = {user.id for user in readers}
    revoked = [user_id for user_id in report_keys.holders(session, report.id) if user_id not in in_scope]
    report_keys.revoke(session, report.id, revoked)
    report_private = None
    if actor_key is not None and report_keys.has_access(session, report.id, actor.id):
        report_private = report_keys.report_private_key(session, report, Reader(actor.id, actor_key))
    granted, waiting = [], []
    for reader in readers:
        if report_keys.has_access(session, report.id, reader.id):
            continue
        if report_private is None or reader.public_key is None:
            waiting.append(reader)
        else:
            report_keys.grant(session, report, report_private, reader.id, reader.public_key, granted_by=actor.id,
                              now=now)
            events.enqueue_access_granted(session, report, reader, now=now)  # their mail, in this transaction
            granted.append(reader)
    change = AccessChange(granted, revoked, waiting)
    _audit(session, actor, report, change)
    return change


def revoke_user(session: Session, user: StaffUser) -> int:
    """Deactivation: delete every wrapped key of `user`."""
    return report_keys.revoke_all_of(session, user.id)


def _waiting_reports(granter: StaffUser, colleague: StaffUser):  # type: ignore[no-untyped-def]
    has = exists().where(ReportKeyGrant.report_id == Report.id, ReportKeyGrant.user_id == granter.id)
    lacks = not_(exists().where(ReportKeyGrant.report_id == Report.id, ReportKeyGrant.user_id == colleague.id))
    return and_(scope.visible(colleague), has, lacks)


@dataclass(frozen=True)
class Waiting:
    colleague: StaffUser
    reports: int  # reports `colleague` may read, that the granter can open, and that they hold no key for


def waiting(session: Session, granter: StaffUser) -> list[Waiting]:
    """Colleagues of `granter` (same organisation, with a key pair) who wait for reports `granter` can open."""
    if granter.profile_id is None or not scope.can_read_reports(granter):
        return []
    colleagues = session.scalars(select(StaffUser).where(
        StaffUser.profile_id == granter.profile_id, StaffUser.active.is_(True), StaffUser.id != granter.id,
        StaffUser.public_key.is_not(None)).order_by(StaffUser.display_name, StaffUser.username))
    result = []
    for colleague in colleagues:
        if not scope.can_read_reports(colleague):
            continue
        count = session.scalar(select(func.count()).select_from(Report)
                               .where(_waiting_reports(granter, colleague))) or 0
        if count:
            result.append(Waiting(colleague, count))
    return result


def grant_colleague(session: Session, granter: StaffUser, granter_key: PrivateKey, colleague: StaffUser, *,
                    now: datetime | None = None) -> int:
    """Give `colleague` the key of every report they may read and `granter` can open; one audit entry per report.

    Only reports in the colleague's scope (`scope.visible`): a grant never widens who can read a report.
    Returns the number of reports granted.
    """
    if colleague.public_key is None or not colleague.active or colleague.profile_id != granter.profile_id:
        return 0
    reports = list(session.scalars(select(Report).where(_waiting_reports(granter, colleague))
                                   .order_by(Report.created_at, Report.id)))
    reader = Reader(granter.id, granter_key)
    for report in reports:
        report_private = report_keys.report_private_key(session, report, reader)
        report_keys.grant(session, report, report_private, colleague.id, colleague.public_key, granted_by=granter.id,
                          now=now)
        audit.record(session, "access_granted", user=granter, report_reference=report.reference,
                     detail=f"to {colleague.username}")
        events.enqueue_access_granted(session, report, colleague, now=now)
    return len(reports)
