"""The back office FastAPI app: `create_app()`.

Every response carries the security headers (CSP, no framing, no referrer, nosniff) and, except static files,
`Cache-Control: no-store` so that no report text stays in a browser or proxy cache. Errors get friendly Dutch
pages without stack traces; the log gets an English line without request bodies, form values or query strings
(for unexpected errors: the exception type and the stack frames, not the exception message, which may quote user
input).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.deps import Tokens, UserError
from backoffice.routes import api_router
from backoffice.routes.staff_session import page_clock
from backoffice.settings import Settings
from backoffice.staff import LoginRequired, login_redirect
from bot.ratelimit import RateLimiter
from bot.webchat import ChatService, ChatSettings
from integrity.notifications import jobs as notification_jobs
from integrity.reports import crypto, db, errors, retention

HERE = Path(__file__).parent
log = logging.getLogger("backoffice")

SECURITY_HEADERS = {
    # default-src 'self' covers scripts, styles, images and fonts; the other directives are not covered by it.
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: ("Dat lukte niet", "We konden dit verzoek niet verwerken. Open de pagina opnieuw en probeer het nog eens."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet. Controleer het adres of ga naar de opvolgpagina."),
    405: ("Dat kan hier niet", "Deze pagina kan je niet op deze manier openen. Ga naar de opvolgpagina."),
    413: ("Te veel tekst", "Je tekst is te lang om te versturen. Maak hem korter en probeer opnieuw."),
    415: ("Dat lukte niet", "We konden het formulier niet lezen. Open de pagina opnieuw en probeer het nog eens."),
    422: ("Dat begrijpen we niet", "Het verzoek bevat gegevens die we niet kunnen verwerken. Open de opvolgpagina "
                                   "en probeer het opnieuw."),
    429: ("Even geduld", "Te veel pogingen. Probeer het later opnieuw."),
    500: ("Er ging iets mis", "Er ging bij ons iets mis. Probeer het over enkele minuten opnieuw. Was je een bericht "
                              "aan het versturen? Vul dan je code opnieuw in en kijk of het is aangekomen."),
    503: ("Even niet beschikbaar", "De opvolgpagina is even niet beschikbaar. Probeer het over enkele minuten "
                                   "opnieuw."),
}
# Exceptions whose message is written for operators and never contains user input.
SAFE_MESSAGE_TYPES = (crypto.KeyFileError, crypto.DecryptionError, errors.ReportBusy, errors.ReportNotFound)

ROLE_LABELS = {"admin": "beheerder", "coordinator": "coördinator", "handler": "behandelaar"}

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


# --- templates -------------------------------------------------------------------------------------------------


def build_templates(settings: Settings) -> Jinja2Templates:
    zone = ZoneInfo(settings.timezone)

    def local(moment: datetime) -> datetime:
        return moment.astimezone(zone)

    def date_nl(moment: datetime | None) -> str:
        if moment is None:
            return ""
        moment = local(moment)
        return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"

    def datetime_nl(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return f"{date_nl(moment)} om {local(moment):%H:%M}"

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is HTML-escaped; nothing in the templates is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["datum"] = date_nl
    env.filters["datumtijd"] = datetime_nl
    env.filters["tijd"] = lambda moment: f"{local(moment):%H:%M}"
    env.globals["staff_of"] = lambda request: getattr(request.state, "staff", None)
    env.globals["role_label"] = ROLE_LABELS.get
    env.globals["idle_clock"] = page_clock
    return Jinja2Templates(env=env)


def error_response(templates: Jinja2Templates, status_code: int, message: str | None = None,
                   headers: dict[str, str] | None = None) -> HTMLResponse:
    title, default = ERROR_TEXTS.get(status_code, ERROR_TEXTS[500 if status_code >= 500 else 400])
    html = templates.get_template("error.html").render(title=title, message=message or default,
                                                        status_code=status_code)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _route(scope: Scope) -> str:
    """The matched route's path template (never the raw path: a reporter may type a code into the address bar)."""
    return str(getattr(scope.get("route"), "path", None) or "(no route)")


# --- middleware ------------------------------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ErrorPageMiddleware:
    """Turns any unhandled exception into the Dutch 500 page and one English log record.

    Sits inside the security headers and outside FastAPI's exception handlers, so Starlette's ServerErrorMiddleware
    (which would log the exception message and re-raise) never sees an exception.
    """

    def __init__(self, app: ASGIApp, render: Callable[[], HTMLResponse]) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unhandled(scope, exc)
            if not started:
                await self.render()(scope, receive, send)


def log_unhandled(scope: Scope, exc: BaseException) -> None:
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = f": {exc}" if isinstance(exc, SAFE_MESSAGE_TYPES) else " (message not logged: it may quote user input)"
    causes: list[str] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < 5:
        causes.append(f"{type(cause).__module__}.{type(cause).__qualname__}")
        cause = cause.__cause__ or cause.__context__
    chain = f"; caused by {' <- '.join(causes)}" if causes else ""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    log.error("Unhandled %s in %s %s%s%s\nStack (most recent call last):\n%s",
              kind, scope.get("method", "-"), _route(scope), message, chain, frames.rstrip())


# --- app -------------------------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    if settings.key_dir.resolve() != crypto.key_dir().resolve():
        raise RuntimeError(
            f"Settings.key_dir ({settings.key_dir}) differs from INTEGRITY_KEY_DIR ({crypto.key_dir()}); the report "
            "service reads INTEGRITY_KEY_DIR for the receipt salt, so both must name the same directory"
        )
    engine = db.make_engine(settings.database_url)
    templates = build_templates(settings)

    sessions = db.make_sessionmaker(engine)
    days = retention.retention_days(settings.retention)
    chat = ChatService.from_settings(ChatSettings(
        settings.rasa_url, settings.rasa_timeout, settings.key_dir, settings.profile, settings.chat_session_limit,
        settings.chat_ip_limit, settings.chat_window))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(retention.purge_periodically(sessions, days))] if settings.purge else []
        if settings.notify and settings.mail.configured:
            tasks.append(asyncio.create_task(notification_jobs.run_periodically(sessions, settings.mail)))
        elif settings.notify:
            log.warning("SMTP_HOST is not set: notification mails wait in the outbox and are not sent "
                        "(see docs/deployment.md, 'Mail')")
        chat.start()
        yield
        await chat.aclose()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        engine.dispose()

    app = FastAPI(title="Integriteitsassistent back office", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.templates = templates
    app.state.chat = chat
    app.state.login_limiter = RateLimiter(settings.login_ip_limit, settings.login_window)
    # Failed passwords per (username, client IP): instead of locking the account, which anyone could do.
    app.state.login_user_limiter = RateLimiter(settings.login_user_limit, settings.login_user_window)
    app.state.tokens = Tokens(settings.secret, csrf_ttl=settings.csrf_ttl, report_ttl=settings.report_token_ttl)

    # Added first = innermost: the 500 page still gets the security headers.
    app.add_middleware(ErrorPageMiddleware, render=lambda: error_response(templates, 500))
    app.add_middleware(SecurityHeadersMiddleware)

    async def user_error(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, UserError)
        log.info("Refused %s %s with %d: %s", request.method, _route(request.scope), exc.status_code,
                 exc.log_reason or "user error")
        return error_response(templates, exc.status_code, exc.message, exc.headers)

    async def http_error(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, StarletteHTTPException)
        log.info("HTTP %d for %s %s", exc.status_code, request.method, _route(request.scope))
        return error_response(templates, exc.status_code, headers=dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, RequestValidationError)
        fields = sorted({".".join(str(part) for part in error.get("loc", ())) for error in exc.errors()})
        log.info("Request validation failed for %s %s (fields: %s)", request.method, _route(request.scope),
                 ", ".join(fields) or "-")
        return error_response(templates, 422)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return login_redirect(exc.next_path)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        UserError: user_error, StarletteHTTPException: http_error, RequestValidationError: validation_error,
        LoginRequired: login_required,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api_router)
    return app
