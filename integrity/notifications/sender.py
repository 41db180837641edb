"""Sending the outbox over SMTP: claim, send, mark; retry with back-off; give up with an operator alert.

Each mail goes through three steps, each its own transaction:
1. claim: `pending` and due (or `sending` with an expired lease, left by a sender that died) -> `sending`, with
   `lease_until` and one more attempt counted. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two instances never claim
   the same row; SQLite: the writer lock does the same.
2. send over SMTP, with the row's fixed Message-ID.
3. mark `sent`, or on failure back to `pending` at now + back-off (NOTIFY_RETRY_SECONDS doubled per attempt), or
   `failed` after NOTIFY_MAX_ATTEMPTS attempts or a permanent refusal (5xx): an ERROR log line and an item on the
   admins' back office page (/beheer/e-mail).
A restart between the steps loses nothing (a claimed row comes back when its lease expires) and never sends a
mail that was marked sent. The one window left: the process dies after the SMTP server accepted the mail and
before step 3 commits. The row is then sent again after its lease, with the same Message-ID, which mail clients
and most servers use to drop the duplicate. Narrower than that needs a transactional mail server; we document it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import digests, texts
from integrity.notifications.models import Kind, MailStatus, OutboxMail
from integrity.notifications.settings import MailSettings
from integrity.reports import db
from integrity.reports.deadlines import utcnow
from integrity.staff.models import StaffUser

log = logging.getLogger("integrity.notifications")
BATCH = 10
ERROR_MAX = 300


@dataclass(frozen=True)
class Claimed:
    id: int
    attempt: int
    message: EmailMessage | None  # None: nothing to send any more (no address now): finish as sent-nowhere


class SendError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


def build_message(session: Session, mail: OutboxMail, user: StaffUser, settings: MailSettings,
                  now: datetime) -> EmailMessage | None:
    if not user.email:
        return None
    items = ([texts.Item(item.kind, item.report_reference) for item in digests.items_of(session, mail.id)]
             if mail.kind == Kind.DIGEST else [])
    rendered = texts.render(mail.kind, mail.report_reference, user.display_name, settings.base_url, items)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = user.email
    message["Subject"] = rendered.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.created_at)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(rendered.body)
    return message


def claim(session: Session, settings: MailSettings, now: datetime, limit: int = BATCH) -> list[Claimed]:
    due = or_(and_(OutboxMail.status == MailStatus.PENDING, OutboxMail.next_attempt_at <= now),
              and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.lease_until < now))
    rows = list(session.scalars(select(OutboxMail).where(due).order_by(OutboxMail.id).limit(limit)
                                .with_for_update(skip_locked=True)))
    claimed = []
    for mail in rows:
        if mail.status == MailStatus.SENDING and mail.attempts >= settings.max_attempts:
            # its senders kept dying while sending it (a poison mail?): stop, alert, never loop forever
            mail.status, mail.lease_until = MailStatus.FAILED, None
            mail.last_error = "the sender stopped while sending it, on every attempt"
            log.error("Notification mail %d (%s, user id %d) NOT delivered after %d attempt(s), giving up: %s.",
                      mail.id, mail.kind.value, mail.user_id, mail.attempts, mail.last_error)
            continue
        mail.status, mail.attempts = MailStatus.SENDING, mail.attempts + 1
        mail.lease_until = now + timedelta(seconds=settings.lease_seconds)
        user = session.get(StaffUser, mail.user_id)
        message = build_message(session, mail, user, settings, now) if user is not None else None
        claimed.append(Claimed(mail.id, mail.attempts, message))
    return claimed


def finish(session: Session, claimed: Claimed, error: SendError | None, settings: MailSettings,
           now: datetime) -> None:
    """Step 3 for one mail, if it is still ours (same attempt, still `sending`)."""
    mail = session.get(OutboxMail, claimed.id, with_for_update=True)
    if mail is None or mail.status != MailStatus.SENDING or mail.attempts != claimed.attempt:
        log.warning("Outbox mail %d was taken over by another sender (lease expired?); not marking it",
                    claimed.id)
        return
    mail.lease_until = None
    if error is None:
        mail.status, mail.sent_at = MailStatus.SENT, now
        mail.last_error = None if claimed.message is not None else "not sent: the user has no e-mail address any more"
        return
    mail.last_error = str(error)[:ERROR_MAX]
    if error.permanent or mail.attempts >= settings.max_attempts:
        mail.status = MailStatus.FAILED
        log.error("Notification mail %d (%s, user id %d) NOT delivered after %d attempt(s), giving up: %s. "
                  "Fix the SMTP settings or the address, then retry it on /beheer/e-mail.",
                  mail.id, mail.kind.value, mail.user_id, mail.attempts, mail.last_error)
        return
    delay = settings.backoff(mail.attempts)
    mail.status, mail.next_attempt_at = MailStatus.PENDING, now + timedelta(seconds=delay)
    log.warning("Notification mail %d: attempt %d failed (%s); retrying in %.0f s",
                mail.id, mail.attempts, mail.last_error, delay)


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An SMTP connection as configured (SendError if the server cannot be reached or refuses the login)."""
    assert settings.host
    try:
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if settings.user and settings.password is not None:
            smtp.login(settings.user, settings.password)
        return smtp
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"SMTP login refused for SMTP_USER ({exc.smtp_code})", permanent=False) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot reach SMTP server {settings.host}:{settings.port} ({type(exc).__name__})",
                        permanent=False) from None


def deliver(smtp: smtplib.SMTP, message: EmailMessage) -> None:
    try:
        refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise SendError("the SMTP server refused the recipient address", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP error {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"SMTP connection failed ({type(exc).__name__})", permanent=False) from None
    if refused:
        raise SendError("the SMTP server refused the recipient address", permanent=True)


def send_due(sessions: sessionmaker[Session], settings: MailSettings, *,
             clock: Callable[[], datetime] = utcnow) -> int:
    """Claim and send one batch; returns how many mails were sent."""
    with db.session_scope(sessions) as session:
        batch = claim(session, settings, clock())
    if not batch:
        return 0
    sent = 0
    smtp: smtplib.SMTP | None = None
    connect_error: SendError | None = None
    try:
        for claimed in batch:
            error: SendError | None = None
            if claimed.message is not None:
                if smtp is None and connect_error is None:
                    try:
                        smtp = connect(settings)
                    except SendError as exc:
                        connect_error = exc
                error = connect_error
                if error is None and smtp is not None:
                    try:
                        deliver(smtp, claimed.message)
                    except SendError as exc:
                        error = exc
                        if not exc.permanent:  # the connection is suspect: no more on it in this batch
                            smtp.close()
                            smtp, connect_error = None, exc
            with db.session_scope(sessions) as session:
                finish(session, claimed, error, settings, clock())
            sent += error is None and claimed.message is not None
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return sent
