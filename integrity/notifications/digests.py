"""Digests: the held notifications of one user, due at `send_after`, go out together in one mail.

A user with the daily preference gets one at NOTIFY_DIGEST_HOUR; a user over the hourly cap gets one when the
hour is over. The digest is an outbox row of its own (kind `digest`), sent like any other; its items point to it
(`digest_id`) and are marked `digested` in the same transaction, so an item is in exactly one digest.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.notifications import outbox
from integrity.notifications.models import Kind, MailStatus, OutboxMail
from integrity.notifications.settings import MailSettings


def build_due(session: Session, *, settings: MailSettings, now: datetime) -> int:
    """One digest per user with a held item that is due; returns how many digests were queued."""
    users = list(session.scalars(
        select(OutboxMail.user_id).where(OutboxMail.status == MailStatus.HELD, OutboxMail.send_after <= now)
        .distinct().order_by(OutboxMail.user_id)))
    for user_id in users:
        items = list(session.scalars(
            select(OutboxMail).where(OutboxMail.user_id == user_id, OutboxMail.status == MailStatus.HELD)
            .order_by(OutboxMail.created_at, OutboxMail.id).with_for_update()))
        digest = OutboxMail(user_id=user_id, kind=Kind.DIGEST, report_reference=None,
                            dedup_key=f"digest:{uuid.uuid4().hex}", message_id=outbox.message_id(settings),
                            status=MailStatus.PENDING, created_at=now, next_attempt_at=now, attempts=0)
        session.add(digest)
        session.flush()
        for item in items:
            item.status, item.digest_id = MailStatus.DIGESTED, digest.id
    return len(users)


def items_of(session: Session, digest_id: int) -> list[OutboxMail]:
    return list(session.scalars(select(OutboxMail).where(OutboxMail.digest_id == digest_id)
                                .order_by(OutboxMail.created_at, OutboxMail.id)))
