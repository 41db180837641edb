"""Scheduled retention: delete closed reports (with their evidence files) after the retention period, and chat
files never attached to a report after `evidence.PENDING_TTL` (the web app runs this daily).

The same deletion is available by hand: `python -m integrity.reports.cli purge --older-than-days N`.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import casework, db, evidence

logger = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 24 * 3600


def retention_days(value: str) -> int:
    """The retention setting (`DomainSettings.retention`, INTEGRITY_RETENTION_DAYS, default 365) as days;
    ValueError with an operator message when it is not usable."""
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"INTEGRITY_RETENTION_DAYS='{value}' is not a whole number of days.") from None
    if days < 0:
        raise ValueError("The retention must be 0 days or more.")
    return days


def purge_once(sessions: sessionmaker[Session], days: int) -> int:
    with db.session_scope(sessions) as session:
        deleted = casework.purge_closed(session, days)
        expired = evidence.purge_expired_pending(session)
    logger.info("Retention: deleted %d closed report(s) older than %d days and %d unclaimed chat file(s)",
                deleted, days, expired)
    return deleted


async def purge_periodically(sessions: sessionmaker[Session], days: int,
                             interval_seconds: float = DEFAULT_INTERVAL_SECONDS) -> None:
    """Purge now and then every interval until cancelled; a failed run is logged and retried next time."""
    while True:
        try:
            await asyncio.to_thread(purge_once, sessions, days)
        except Exception:
            logger.exception("Retention purge failed; will retry in %.0f s", interval_seconds)
        await asyncio.sleep(interval_seconds)
