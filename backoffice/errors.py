"""The one place where a domain refusal becomes an HTTP status."""

from __future__ import annotations

from integrity.errors import UserFacingError
from integrity.reports.errors import ReportNotFound
from integrity.staff.errors import CaseForbidden

STATUS_CODES: tuple[tuple[type[UserFacingError], int], ...] = (
    (CaseForbidden, 403),
    (ReportNotFound, 404),
)


def status_for(exc: UserFacingError) -> int:
    """403 for a role that may not do this, 404 for an unknown report, 400 for any other refused input."""
    return next((code for kind, code in STATUS_CODES if isinstance(exc, kind)), 400)
