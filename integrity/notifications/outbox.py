"""The mail outbox: adding a notification for one staff member, with their preference and the hourly cap.

- preference `off`, no e-mail address or an inactive account: no mail (the back office still shows the case);
- `daily`: held for the next daily digest (NOTIFY_DIGEST_HOUR, local time);
- `immediate`: sent at once, unless the user already got `hourly_cap` mails in the last hour: then it is held
  for a digest an hour after the oldest of those, so nothing is lost and nobody is flooded.
A (user, dedup key) pair is added once: an event or a reminder never reaches the same user twice.
Nothing here commits: the caller's transaction does.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.notifications.models import Kind, MailStatus, OutboxMail
from integrity.notifications.settings import MailSettings
from integrity.staff.models import NotifyMode, StaffUser

CAP_WINDOW = timedelta(hours=1)


def message_id(settings: MailSettings) -> str:
    """A Message-ID fixed when the row is made: a retry of the same row is recognisably the same mail."""
    domain = settings.sender.rpartition("@")[2] or "localhost"
    return f"<notify.{secrets.token_hex(12)}@{domain}>"


def next_digest_at(now: datetime, settings: MailSettings) -> datetime:
    """The next NOTIFY_DIGEST_HOUR:00 in the organisations' time zone, after `now`."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    due = local.replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due = (local + timedelta(days=1)).replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    return due.astimezone(timezone.utc)


def wants_mail(user: StaffUser) -> bool:
    return bool(user.active and user.email and user.notify_mode != NotifyMode.OFF)


def _cap_release(session: Session, user: StaffUser, now: datetime, settings: MailSettings) -> datetime | None:
    """None if `user` may get another immediate mail now, else when the hourly window frees up."""
    recent = session.execute(
        select(func.count(OutboxMail.id), func.min(OutboxMail.created_at))
        .where(OutboxMail.user_id == user.id, OutboxMail.kind != Kind.DIGEST,
               OutboxMail.created_at > now - CAP_WINDOW, OutboxMail.send_after.is_(None))
    ).one()
    count, oldest = recent
    if count < settings.hourly_cap:
        return None
    return (oldest or now) + CAP_WINDOW


def add(session: Session, user: StaffUser, kind: Kind, reference: str | None, dedup_key: str, *,
        settings: MailSettings, now: datetime, digest_at: datetime | None = None) -> OutboxMail | None:
    """Queue a notification for `user`; None if they get no mail for it (preference, address) or already have it.

    `digest_at`: when a daily-digest user's item is due (default: the next digest hour). The daily job passes
    `now`, so its reminders go into the digest it builds right after.
    """
    if not wants_mail(user):
        return None
    exists = session.scalar(select(OutboxMail.id).where(OutboxMail.user_id == user.id,
                                                        OutboxMail.dedup_key == dedup_key))
    if exists is not None:
        return None
    held_until = ((digest_at or next_digest_at(now, settings)) if user.notify_mode == NotifyMode.DAILY
                  else _cap_release(session, user, now, settings))
    mail = OutboxMail(user_id=user.id, kind=kind, report_reference=reference, dedup_key=dedup_key,
                      message_id=message_id(settings), created_at=now, attempts=0,
                      status=MailStatus.HELD if held_until else MailStatus.PENDING,
                      send_after=held_until, next_attempt_at=None if held_until else now)
    session.add(mail)
    session.flush()
    return mail


def failed(session: Session, profile_id: str | None = None, limit: int = 100) -> list[tuple[OutboxMail, StaffUser]]:
    """Mails given up on, newest first (for the admins' back office page). `profile_id` None: all."""
    query = (select(OutboxMail, StaffUser).join(StaffUser, StaffUser.id == OutboxMail.user_id)
             .where(OutboxMail.status == MailStatus.FAILED).order_by(OutboxMail.id.desc()).limit(limit))
    if profile_id is not None:
        query = query.where(StaffUser.profile_id == profile_id)
    return [(mail, user) for mail, user in session.execute(query)]


def retry(session: Session, mail_id: int, now: datetime) -> bool:
    """Put a failed mail back in the queue (an admin fixed the address or the server). False if not failed."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None or mail.status != MailStatus.FAILED:
        return False
    mail.status, mail.next_attempt_at, mail.attempts, mail.last_error = MailStatus.PENDING, now, 0, None
    return True


def counts(session: Session) -> dict[MailStatus, int]:
    rows = session.execute(select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status))
    return {status: count for status, count in rows}
