"""What the case pages refuse: `user_message` is Dutch, `str(exc)` English (no content).

The HTTP status of each is the web app's business (`backoffice.errors`).
"""

from __future__ import annotations

from integrity.errors import UserFacingError


class CaseError(UserFacingError):
    """A change or a filter we refuse because of the input."""


class CaseForbidden(CaseError):
    """The staff member sees the case but their role may not do this (handlers do not assign or forward)."""
