"""Dependencies shared by the routes: settings, DB session, templates, form parsing and signed tokens.

Tokens (HMAC-SHA256 with keys derived from BACKOFFICE_SECRET), so that no page needs a cookie:
- CSRF token, in a hidden field of every form: `c1.<time>.<nonce>.<mac>` over the form name, time and a random
  nonce, valid `Settings.csrf_ttl` seconds. Without a session it cannot be bound to one browser, so POSTs are also
  refused when the browser says they come from another site (Sec-Fetch-Site).
- Report token, issued after a correct receipt code: `r1.<time>.<box>.<mac>`, valid `Settings.report_token_ttl`
  seconds from the code entry (not extended by use). `box` is the report id and the reporter key (derived from the
  receipt code; it cannot be turned back into the code), encrypted with a SecretBox key derived from the same
  secret: the add-message form needs the reporter key to store the reporter's copy, and the code itself is never
  put in a page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

import nacl.exceptions
import nacl.secret
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backoffice.settings import Settings

CLOCK_SKEW = 60  # seconds a token may come from the future (several workers, clock adjustments)
MAX_FORM_FIELDS = 10
MAX_TOKEN_CHARS = 400
REPORTER_KEY_BYTES = 32


class UserError(Exception):
    """A request we refuse, shown to the user as an error page with a Dutch message."""

    def __init__(self, status_code: int, message: str, *, log_reason: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(log_reason or message)
        self.status_code = status_code
        self.message = message
        self.log_reason = log_reason  # English, for the log; never user input
        self.headers = headers or {}


class TokenError(Exception):
    """A token is missing, malformed, forged or expired; `str(exc)` says which (English, no token content)."""


# --- app state -------------------------------------------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    """A short session per request (SQLite takes its write lock at BEGIN), closed without committing.

    Each route commits its use case itself with `integrity.reports.db.transaction`, before it answers.
    """
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SessionDep = Annotated[Session, Depends(get_session)]


# --- tokens ----------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed token (base64)") from None


def _subkey(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, b"integrity-backoffice/v1/" + purpose, hashlib.sha256).digest()


@dataclass(frozen=True)
class ReportGrant:
    """What a valid report token allows: adding messages to this report until `expires_at` (Unix time)."""

    report_id: str
    reporter_key: bytes
    expires_at: int


class Tokens:
    def __init__(self, secret: bytes, *, csrf_ttl: int, report_ttl: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._csrf_key = _subkey(secret, b"csrf")
        self._report_mac_key = _subkey(secret, b"report-mac")
        self._report_box = nacl.secret.SecretBox(_subkey(secret, b"report-box"))
        self.csrf_ttl = csrf_ttl
        self.report_ttl = report_ttl
        self.clock = clock

    def _now(self, now: float | None) -> int:
        return int(self.clock() if now is None else now)

    @staticmethod
    def _mac(key: bytes, *parts: str) -> str:
        return _b64(hmac.new(key, "|".join(parts).encode("ascii"), hashlib.sha256).digest())

    def _check_time(self, issued: str, ttl: int, now: int) -> int:
        if not issued.isdigit():
            raise TokenError("malformed token (time)")
        at = int(issued)
        if at > now + CLOCK_SKEW:
            raise TokenError("token issued in the future")
        if now - at > ttl:
            raise TokenError("token expired")
        return at

    @staticmethod
    def _split(token: str, prefix: str, count: int) -> list[str]:
        if not token:
            raise TokenError("token missing")
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise TokenError("malformed token (length or characters)")
        parts = token.split(".")
        if len(parts) != count or parts[0] != prefix:
            raise TokenError("malformed token (structure)")
        return parts

    # CSRF

    def csrf(self, form: str, *, now: float | None = None) -> str:
        issued, nonce = str(self._now(now)), _b64(secrets.token_bytes(16))
        return f"c1.{issued}.{nonce}.{self._mac(self._csrf_key, 'c1', form, issued, nonce)}"

    def check_csrf(self, token: str, form: str, *, now: float | None = None) -> None:
        _, issued, nonce, mac = self._split(token, "c1", 4)
        if not hmac.compare_digest(mac, self._mac(self._csrf_key, "c1", form, issued, nonce)):
            raise TokenError("bad signature (forged, or for another form)")
        self._check_time(issued, self.csrf_ttl, self._now(now))

    # report access after a correct receipt code

    def report_token(self, report_id: str, reporter_key: bytes, *, now: float | None = None) -> str:
        if len(reporter_key) != REPORTER_KEY_BYTES:
            raise ValueError("reporter key must be 32 bytes")
        issued = str(self._now(now))
        box = _b64(self._report_box.encrypt(uuid.UUID(report_id).bytes + reporter_key))
        return f"r1.{issued}.{box}.{self._mac(self._report_mac_key, 'r1', issued, box)}"

    def check_report_token(self, token: str, *, now: float | None = None) -> ReportGrant:
        _, issued, box, mac = self._split(token, "r1", 4)
        if not hmac.compare_digest(mac, self._mac(self._report_mac_key, "r1", issued, box)):
            raise TokenError("bad signature (forged)")
        at = self._check_time(issued, self.report_ttl, self._now(now))
        try:
            plain = self._report_box.decrypt(_unb64(box))
        except nacl.exceptions.CryptoError:
            raise TokenError("token box does not open") from None
        if len(plain) != 16 + REPORTER_KEY_BYTES:
            raise TokenError("malformed token (box size)")
        return ReportGrant(str(uuid.UUID(bytes=plain[:16])), plain[16:], at + self.report_ttl)


def get_tokens(request: Request) -> Tokens:
    return request.app.state.tokens  # type: ignore[no-any-return]


TokensDep = Annotated[Tokens, Depends(get_tokens)]


# --- forms -----------------------------------------------------------------------------------------------------

BAD_FORM = "We konden het formulier niet lezen. Open de pagina opnieuw en probeer het nog eens."
FORM_EXPIRED = ("Dit formulier is verlopen of ongeldig. Open de pagina opnieuw en probeer het nog eens. "
                "Er is niets bewaard.")


async def read_limited_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be over `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def read_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The urlencoded form body, read with a size limit (no python-multipart needed; no file uploads here).

    A field sent twice, invalid percent-encoding or non-UTF-8 text is refused with 400.
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UserError(415, BAD_FORM, log_reason=f"form with content type '{content_type[:60]}'")
    body = await read_limited_body(request, settings.max_form_bytes)
    if body is None:
        raise UserError(413, "Je tekst is te lang om te versturen. Maak hem korter en probeer opnieuw.",
                        log_reason="form body over the size limit")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise UserError(400, BAD_FORM, log_reason="unparsable form body") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise UserError(400, BAD_FORM, log_reason="form field sent twice")
        form[name] = value
    return form


def from_other_site(request: Request) -> bool:
    """The browser says the request comes from another site (Sec-Fetch-Site; old browsers send nothing)."""
    return request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site")


def csrf_checked_form(form_name: str) -> Callable[..., Coroutine[Any, Any, dict[str, str]]]:
    """A dependency returning the form of `form_name` after checking its origin and CSRF token (else 400)."""

    async def dependency(request: Request, tokens: TokensDep,
                         form: Annotated[dict[str, str], Depends(read_form)]) -> dict[str, str]:
        if from_other_site(request):
            raise UserError(400, FORM_EXPIRED, log_reason=f"{form_name} form posted from another site")
        try:
            tokens.check_csrf(form.get("csrf", ""), form_name)
        except TokenError as exc:
            raise UserError(400, FORM_EXPIRED, log_reason=f"CSRF check failed on the {form_name} form: {exc}") \
                from None
        return form

    return dependency
