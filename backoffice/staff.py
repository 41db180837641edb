"""Dependencies for the staff pages under /beheer: the login session, roles and per-session CSRF.

The session cookie (`bo_sessie`) is HttpOnly, SameSite=Strict, path /beheer, and Secure when the request came
over HTTPS (run uvicorn with --forwarded-allow-ips behind a TLS proxy so that it sees the scheme). Every form
carries a CSRF token bound to the session and the form (`LoadedSession.csrf_token`), and POSTs the browser marks
as cross-site are refused as well.

Refusals: no session -> GET redirects to the login page, POST gets 401 (the form is not processed, nothing is
stored); wrong role -> 403; a report outside the user's scope -> 404 (`integrity.staff.scope`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from nacl.public import PrivateKey

from backoffice.deps import FORM_EXPIRED, SessionDep, SettingsDep, UserError, from_other_site, read_form
from backoffice.settings import Settings
from integrity.reports.db import transaction
from integrity.staff import sessions
from integrity.staff.models import Role
from integrity.staff.sessions import LoadedSession

PREFIX = "/beheer"
COOKIE = "bo_sessie"
LOGIN_PATH = f"{PREFIX}/aanmelden"
NOT_LOGGED_IN = "Je bent niet (meer) aangemeld. Meld je opnieuw aan. Wat je net verstuurde, is niet bewaard."
FORBIDDEN = "Je hebt geen toegang tot deze pagina."


class LoginRequired(Exception):
    """Raised for a GET without a live session: the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def login_redirect(next_path: str = "") -> RedirectResponse:
    target = LOGIN_PATH + (f"?volgende={quote(next_path, safe='/')}" if next_path.startswith(PREFIX) else "")
    return RedirectResponse(target, status_code=303)


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(COOKIE, value, httponly=True, samesite="strict", path=PREFIX,
                        secure=request.url.scheme == "https", max_age=int(sessions.ABSOLUTE.total_seconds()))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def idle_limit(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.staff_idle)


def optional_staff(request: Request, db: SessionDep, settings: SettingsDep) -> LoadedSession | None:
    with transaction(db):  # drops an expired session, or extends a live one
        return sessions.load(db, request.cookies.get(COOKIE), idle=idle_limit(settings))


def _refuse(request: Request) -> Exception:
    if request.method in ("GET", "HEAD"):
        return LoginRequired(request.url.path)
    return UserError(401, NOT_LOGGED_IN, log_reason="staff request without a live session")


def current_staff(request: Request, loaded: Annotated[LoadedSession | None, Depends(optional_staff)]) -> LoadedSession:
    """A logged-in staff member who passed the second factor if they have one."""
    if loaded is None or not loaded.complete:
        raise _refuse(request)
    request.state.staff = loaded  # the templates show the name and the navigation
    return loaded


StaffDep = Annotated[LoadedSession, Depends(current_staff)]


def require_role(*roles: Role) -> Callable[[LoadedSession], LoadedSession]:
    def dependency(loaded: StaffDep) -> LoadedSession:
        if loaded.user.role not in roles:
            raise UserError(403, FORBIDDEN, log_reason=f"role {loaded.user.role.value} may not use this page")
        return loaded

    return dependency


AdminDep = Annotated[LoadedSession, Depends(require_role(Role.ADMIN))]
CoordinatorDep = Annotated[LoadedSession, Depends(require_role(Role.COORDINATOR))]
CaseWorkerDep = Annotated[LoadedSession, Depends(require_role(Role.COORDINATOR, Role.HANDLER))]


def check_origin(request: Request, form_name: str) -> None:
    if from_other_site(request):
        raise UserError(400, FORM_EXPIRED, log_reason=f"{form_name} form posted from another site")


def staff_form(form_name: str) -> Callable[..., Coroutine[Any, Any, dict[str, str]]]:
    """A dependency: the form of `form_name`, posted by a logged-in staff member with the session's CSRF token."""

    async def dependency(request: Request, loaded: StaffDep,
                         form: Annotated[dict[str, str], Depends(read_form)]) -> dict[str, str]:
        check_origin(request, form_name)
        if not loaded.check_csrf(form.get("csrf", ""), form_name):
            raise UserError(400, FORM_EXPIRED, log_reason=f"CSRF check failed on the staff form '{form_name}'")
        return form

    return dependency


def private_key_or_none(loaded: LoadedSession) -> PrivateKey | None:
    return sessions.private_key(loaded)
