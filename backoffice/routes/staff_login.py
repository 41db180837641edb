"""Staff sign-in under /beheer: password (which also opens the staff member's private key), optional TOTP second
factor, account page. The recovery key pages and the access grants are in `staff_keys`.

Every attempt lands in the audit log. A failed login never tells whether the username exists: the same page,
status, fields and Argon2 work for unknown and known accounts, and a lock-out shows only to whoever typed the right
password. Wrong passwords do not lock an account (anyone could lock a named colleague out); they are limited per
username and client address (`login_user_limiter`) and per address (`login_limiter`). Five failed second-factor
codes (the caller knew the password) lock the account for a quarter of an hour (`integrity.staff.accounts`).

Login CSRF: the login form's token is bound to a random pre-session cookie (`LOGIN_COOKIE`) set when the form is
shown, so a token copied from another browser, or a form posted without that browser's cookie, is refused; the
cookie is dropped once the login succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backoffice.deps import (
    FORM_EXPIRED,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TokenError,
    TokensDep,
    UserError,
    read_form,
)
from backoffice.routes.followup import client_ip
from backoffice.staff import (
    LOGIN_PATH,
    PREFIX,
    StaffDep,
    check_origin,
    clear_session_cookie,
    optional_staff,
    set_session_cookie,
    staff_form,
)
from bot.ratelimit import RateLimiter
from integrity.notifications.texts import mode_labels
from integrity.reports.db import transaction
from integrity.staff import accounts, audit, key_flows, passwords, sessions, totp
from integrity.staff.models import Role
from integrity.staff.sessions import LoadedSession

router = APIRouter(prefix=PREFIX, tags=["beheer"])
log = logging.getLogger("backoffice.staff")

LOGIN_FORM = "aanmelden"
CODE_FORM = "tweede-stap"
TOTP_FORM = "tweede-stap-instellen"
PASSWORD_FORM = "wachtwoord"
NOTIFY_FORM = "account-meldingen"  # handled in backoffice.routes.staff_notify
LOGOUT_FORM = "afmelden"
FIELD_MAX = 256
LOGIN_COOKIE = "bo_aanmelden"  # pre-session cookie the login form's CSRF token is bound to
_LOGIN_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")
_SAFE_NEXT = re.compile(r"/beheer(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%=&-]*)?")

WRONG_CODE = "Die code klopt niet. Gebruik de zescijferige code die je app nu toont."
TOO_MANY = "Te veel aanmeldpogingen vanaf dit adres. Wacht tien minuten en probeer het dan opnieuw."
RECOVERY_KEY_PATH = f"{PREFIX}/herstelsleutel"
RECOVER_PATH = f"{PREFIX}/herstel"


def safe_next(target: str | None) -> str:
    """Only paths inside the back office: no open redirect to another site."""
    if target and _SAFE_NEXT.fullmatch(target) and "//" not in target:
        return target
    return PREFIX


def home_for(loaded: LoadedSession) -> str:
    return f"{PREFIX}/gebruikers" if loaded.user.role == Role.ADMIN else f"{PREFIX}/meldingen"


def after_login(loaded_or_keys: key_flows.LoginKeys | LoadedSession, next_path: str) -> str:
    """Where a completed login goes: the new recovery key first, the recovery form after a reset, else `next`."""
    if isinstance(loaded_or_keys, LoadedSession):
        pending_key = sessions.has_recovery_key(loaded_or_keys)
        awaits = loaded_or_keys.user.public_key is not None and loaded_or_keys.user.private_key_box is None
    else:
        pending_key, awaits = loaded_or_keys.recovery_key is not None, loaded_or_keys.awaits_recovery
    if pending_key:
        return RECOVERY_KEY_PATH
    if awaits:
        return RECOVER_PATH
    return safe_next(next_path) if next_path else PREFIX


def throttle(request: Request) -> None:
    """Per client IP, against password spraying across accounts."""
    limiter: RateLimiter = request.app.state.login_limiter
    if not limiter.allow(client_ip(request)):
        raise UserError(429, TOO_MANY, log_reason="login attempts over the per-IP limit",
                        headers={"Retry-After": str(int(limiter.window))})


def _user_key(request: Request, username: str) -> str:
    """(username, client IP) as a keyed hash: no address or name is kept even in memory."""
    secret: bytes = request.app.state.settings.secret
    material = f"{username.strip().lower()}\n{client_ip(request)}".encode()
    return hmac.new(secret, b"login-user|" + material, hashlib.sha256).hexdigest()


def throttle_user(request: Request, username: str) -> None:
    """Refuse once this username had too many failed passwords from this address; the same answer whether the
    account exists or not, and other addresses can still log in to it."""
    limiter: RateLimiter = request.app.state.login_user_limiter
    if limiter.is_full(_user_key(request, username)):
        raise UserError(429, TOO_MANY, log_reason="failed logins over the per-username-and-IP limit",
                        headers={"Retry-After": str(int(limiter.window))})


def _login_binding(cookie: str) -> str:
    """The login form name as signed into its CSRF token: tied to the browser's pre-session cookie."""
    return f"{LOGIN_FORM}:{hashlib.sha256(cookie.encode('ascii')).hexdigest()}"


def login_cookie(request: Request) -> str | None:
    value = request.cookies.get(LOGIN_COOKIE, "")
    return value if _LOGIN_COOKIE_VALUE.fullmatch(value) else None


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "")[:FIELD_MAX]


# --- login -----------------------------------------------------------------------------------------------------


def login_page(request: Request, templates: TemplatesDep, tokens: TokensDep, *, error: str = "",
               next_path: str = "", username: str = "", status_code: int = 200) -> HTMLResponse:
    """The form; its token is bound to the pre-session cookie, which is set here if the browser has none."""
    cookie = login_cookie(request)
    fresh = cookie is None
    if cookie is None:
        cookie = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    response = templates.TemplateResponse(request, "staff/login.html", {
        "csrf": tokens.csrf(_login_binding(cookie)), "error": error, "next_path": safe_next(next_path),
        "username": username,
    }, status_code=status_code)
    if fresh:
        response.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict", path=PREFIX,
                            secure=request.url.scheme == "https", max_age=int(tokens.csrf_ttl))
    return response


@router.get("", include_in_schema=False)
def start(loaded: StaffDep) -> RedirectResponse:
    return RedirectResponse(home_for(loaded), status_code=303)


@router.get("/aanmelden", response_class=HTMLResponse)
def show_login(request: Request, templates: TemplatesDep, tokens: TokensDep, volgende: str = "") -> HTMLResponse:
    return login_page(request, templates, tokens, next_path=volgende)


@router.post("/aanmelden", response_class=HTMLResponse)
def login(request: Request, db: SessionDep, templates: TemplatesDep, tokens: TokensDep,
          form: Annotated[dict[str, str], Depends(read_form)]) -> Response:
    check_origin(request, LOGIN_FORM)
    throttle(request)
    cookie = login_cookie(request)
    if cookie is None:
        raise UserError(400, FORM_EXPIRED, log_reason="login form posted without its pre-session cookie")
    try:
        tokens.check_csrf(form.get("csrf", ""), _login_binding(cookie))
    except TokenError as exc:
        raise UserError(400, FORM_EXPIRED, log_reason=f"CSRF check failed on the login form: {exc}") from None
    username, password, next_path = _field(form, "gebruiker").strip(), _field(form, "wachtwoord"), form.get(
        "volgende", "")
    throttle_user(request, username)
    with transaction(db):  # the audit entry of a failure, or the new session with its audit entry
        try:
            user = accounts.authenticate(db, username, password)
        except accounts.AccountError as exc:
            known = accounts.get_user(db, username) if accounts.USERNAME.fullmatch(username.lower()) else None
            action = "account_locked" if isinstance(exc, accounts.AccountLocked) else "login_failed"
            audit.record(db, action, user=known, username="(onbekend)",
                         detail=str(exc) if known else "unknown account")
            log.info("Staff login refused: %s", type(exc).__name__)
            if not isinstance(exc, accounts.AccountLocked):  # a lock-out answers the right password only
                request.app.state.login_user_limiter.allow(_user_key(request, username))
            # The same page for unknown and known accounts: the username as typed, the same message.
            return login_page(request, templates, tokens, error=exc.user_message, next_path=next_path,
                              username=username, status_code=401)
        has_totp = user.totp_secret_box is not None
        keys = key_flows.at_login(db, user, password)  # opens (or, the first time, makes) the private key
        session_cookie = sessions.start(db, user, second_factor_done=not has_totp, private_key=keys.private_key,
                                recovery_key=keys.recovery_key)
        if not has_totp:
            accounts.record_login(db, user)
            audit.record(db, "login", user=user)
    if has_totp:
        response: Response = RedirectResponse(
            f"{PREFIX}/aanmelden/code?volgende={safe_next(next_path)}", status_code=303)
    else:
        response = RedirectResponse(after_login(keys, next_path), status_code=303)
    set_session_cookie(response, request, session_cookie)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")  # its form tokens are spent
    return response


@router.get("/aanmelden/code", response_class=HTMLResponse)
def show_second_factor(request: Request, templates: TemplatesDep,
                       loaded: Annotated[LoadedSession | None, Depends(optional_staff)],
                       volgende: str = "") -> Response:
    if loaded is None:
        return RedirectResponse(LOGIN_PATH, status_code=303)
    if loaded.complete:
        return RedirectResponse(safe_next(volgende), status_code=303)
    return templates.TemplateResponse(request, "staff/second_factor.html", {
        "csrf": loaded.csrf_token(CODE_FORM), "error": "", "next_path": safe_next(volgende)})


@router.post("/aanmelden/code", response_class=HTMLResponse)
def second_factor(request: Request, db: SessionDep, settings: SettingsDep, templates: TemplatesDep,
                  loaded: Annotated[LoadedSession | None, Depends(optional_staff)],
                  form: Annotated[dict[str, str], Depends(read_form)]) -> Response:
    check_origin(request, CODE_FORM)
    throttle(request)
    if loaded is None:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        clear_session_cookie(response, request)
        return response
    if not loaded.check_csrf(form.get("csrf", ""), CODE_FORM):
        raise UserError(400, FORM_EXPIRED, log_reason="CSRF check failed on the second-factor form")
    next_path = safe_next(form.get("volgende"))
    key = accounts.TotpKey.from_secret(settings.secret)
    with transaction(db):  # the completed login, or the failure counter, with its audit entry
        if accounts.check_second_factor(loaded.user, _field(form, "code"), key):
            sessions.complete_second_factor(db, loaded)
            accounts.unlock(db, loaded.user)
            accounts.record_login(db, loaded.user)
            audit.record(db, "login", user=loaded.user, detail="with second factor")
            return RedirectResponse(after_login(loaded, next_path), status_code=303)
        user = loaded.user
        user.failed_logins += 1
        locked = user.failed_logins >= accounts.MAX_FAILED_LOGINS
        if locked:
            user.locked_until, user.failed_logins = accounts.utcnow() + accounts.LOCK_DURATION, 0
            sessions.end(db, loaded)
            audit.record(db, "account_locked", user=user, detail="second factor failed repeatedly")
        else:
            audit.record(db, "login_failed", user=user, detail="wrong second-factor code")
    if locked:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        clear_session_cookie(response, request)
        return response
    return templates.TemplateResponse(request, "staff/second_factor.html", {
        "csrf": loaded.csrf_token(CODE_FORM), "error": WRONG_CODE, "next_path": next_path}, status_code=401)


@router.post("/afmelden")
def logout(request: Request, db: SessionDep, loaded: StaffDep,
           form: Annotated[dict[str, str], Depends(staff_form(LOGOUT_FORM))]) -> RedirectResponse:
    with transaction(db):
        sessions.end(db, loaded)
        audit.record(db, "logout", user=loaded.user)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_session_cookie(response, request)
    return response


# --- own account: password and second factor -------------------------------------------------------------------


def mode_labels_for(request: Request) -> dict[str, str]:
    mail = request.app.state.settings.mail
    return mode_labels(mail.hourly_cap, mail.digest_hour)


def account_page(request: Request, templates: TemplatesDep, loaded: LoadedSession, *, message: str = "",
                 error: str = "", new_secret: str = "", status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "staff/account.html", {
        "user": loaded.user, "message": message, "error": error, "new_secret": new_secret,
        "totp_uri": totp.provisioning_uri(new_secret, loaded.user.username) if new_secret else "",
        "csrf_totp": loaded.csrf_token(TOTP_FORM), "csrf_password": loaded.csrf_token(PASSWORD_FORM),
        "csrf_notify": loaded.csrf_token(NOTIFY_FORM), "modes": mode_labels_for(request),
    }, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def show_account(request: Request, templates: TemplatesDep, loaded: StaffDep) -> HTMLResponse:
    return account_page(request, templates, loaded)


@router.post("/account/tweede-stap", response_class=HTMLResponse)
def configure_second_factor(request: Request, db: SessionDep, settings: SettingsDep, templates: TemplatesDep,
                            loaded: StaffDep,
                            form: Annotated[dict[str, str], Depends(staff_form(TOTP_FORM))]) -> HTMLResponse:
    key = accounts.TotpKey.from_secret(settings.secret)
    step = form.get("stap", "")
    if step == "begin":
        return account_page(request, templates, loaded, new_secret=totp.new_secret())
    if step == "bevestig":
        secret = _field(form, "geheim")
        if not re.fullmatch(r"[A-Z2-7]{32}", secret):
            raise UserError(400, FORM_EXPIRED, log_reason="malformed TOTP secret in the set-up form")
        try:
            with transaction(db):
                accounts.enable_totp(db, loaded.user, secret, _field(form, "code"), key)
                audit.record(db, "totp_enabled", user=loaded.user)
        except accounts.InvalidAccount as exc:
            return account_page(request, templates, loaded, error=exc.user_message, new_secret=secret,
                                status_code=400)
        return account_page(request, templates, loaded, message="De tweede stap staat aan. Vanaf nu vragen we bij "
                                                                "het aanmelden ook een code uit je app.")
    if step == "uit":
        if not passwords.verify_password(loaded.user.password_hash, _field(form, "wachtwoord")):
            return account_page(request, templates, loaded, error="Je wachtwoord klopt niet. De tweede stap blijft "
                                                                  "aan.", status_code=400)
        with transaction(db):
            accounts.disable_totp(db, loaded.user)
            audit.record(db, "totp_disabled", user=loaded.user)
        return account_page(request, templates, loaded, message="De tweede stap staat uit.")
    raise UserError(400, FORM_EXPIRED, log_reason="unknown step in the second-factor form")


@router.post("/account/wachtwoord", response_class=HTMLResponse)
def change_password(request: Request, db: SessionDep, templates: TemplatesDep, loaded: StaffDep,
                    form: Annotated[dict[str, str], Depends(staff_form(PASSWORD_FORM))]) -> Response:
    if not passwords.verify_password(loaded.user.password_hash, _field(form, "huidig")):
        return account_page(request, templates, loaded, error="Je huidige wachtwoord klopt niet. Er is niets "
                                                              "gewijzigd.", status_code=400)
    new, repeat = _field(form, "nieuw"), _field(form, "herhaal")
    if new != repeat:
        return account_page(request, templates, loaded, error="De twee nieuwe wachtwoorden zijn niet gelijk. Er is "
                                                              "niets gewijzigd.", status_code=400)
    private = sessions.private_key(loaded)
    try:
        with transaction(db):  # the new hash and the private key re-wrapped under it, or neither
            accounts.change_own_password(db, loaded.user, new, private)
            sessions.end_all(db, loaded.user.id)
            audit.record(db, "password_changed", user=loaded.user, detail="own password; all sessions ended"
                         + ("; private key re-wrapped" if private is not None else ""))
            cookie = sessions.start(db, loaded.user, second_factor_done=True, private_key=private)
    except passwords.WeakPassword as exc:
        return account_page(request, templates, loaded, error=exc.user_message, status_code=400)
    response = RedirectResponse(f"{PREFIX}/account", status_code=303)
    set_session_cookie(response, request, cookie)
    return response


