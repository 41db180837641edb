"""The idle logout, made visible (WCAG 2.2.1): how long the session has left, and "Sessie verlengen".

- GET /beheer/sessie: `{"seconds_left": n}` for the browser's session cookie, 0 without a live session. Asking is
  not activity: it does not restart the idle clock.
- POST /beheer/sessie/verlengen: the one-click extension, with the session's CSRF token for the form
  `sessie-verlengen`. Answers JSON to `static/session.js` (`Accept: application/json`), otherwise redirects back.

Every staff page gets the clock from `page_clock` (a template global): the seconds left, when to warn, and the
key with which `static/drafts.js` encrypts the typed text it keeps in the tab across an expiry
(docs/backoffice.md, "Idle logout").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from backoffice.deps import SessionDep, SettingsDep
from backoffice.routes.staff_login import safe_next
from backoffice.settings import Settings
from backoffice.staff import COOKIE, PREFIX, StaffDep, idle_limit, staff_form
from integrity.reports.db import transaction
from integrity.staff import sessions
from integrity.staff.sessions import LoadedSession

router = APIRouter(prefix=PREFIX, tags=["beheer"])

EXTEND_FORM = "sessie-verlengen"


def draft_key(secret: bytes, user_id: int) -> str:
    """The AES key (base64url) for this staff member's kept text: another account in the same tab cannot open it."""
    digest = hmac.new(secret, b"integrity-backoffice/v1/draft-key|" + str(user_id).encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def page_clock(request: Request) -> dict[str, Any] | None:
    """What staff/base.html needs for the warning dialog; None on pages without a logged-in staff member."""
    loaded: LoadedSession | None = getattr(request.state, "staff", None)
    if loaded is None:
        return None
    settings: Settings = request.app.state.settings
    return {
        "seconds_left": sessions.seconds_left(loaded, idle=idle_limit(settings)),
        "warn_seconds": settings.staff_idle_warning,
        "idle_minutes": max(1, round(settings.staff_idle / 60)),
        "draft_key": draft_key(settings.secret, loaded.user.id),
        "csrf": loaded.csrf_token(EXTEND_FORM),
    }


@router.get("/sessie")
def session_status(request: Request, db: SessionDep, settings: SettingsDep) -> JSONResponse:
    idle = idle_limit(settings)
    with transaction(db):  # an expired session is removed on the way
        loaded = sessions.load(db, request.cookies.get(COOKIE), idle=idle, touch=False)
    left = sessions.seconds_left(loaded, idle=idle) if loaded is not None and loaded.complete else 0
    return JSONResponse({"seconds_left": left})


@router.post("/sessie/verlengen")
def extend_session(request: Request, db: SessionDep, settings: SettingsDep, loaded: StaffDep,
                   form: Annotated[dict[str, str], Depends(staff_form(EXTEND_FORM))]) -> Response:
    with transaction(db):
        left = sessions.extend(db, loaded, idle=idle_limit(settings))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"seconds_left": left})
    return RedirectResponse(safe_next(form.get("volgende")), status_code=303)
