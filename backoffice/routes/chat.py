"""The web chat: `GET /chat` (the page) and `POST /chat/berichten` (one message, forwarded to Rasa).

The page (`templates/chat.html`, `static/chat.js`) makes a random session id in the browser and keeps it only in a
JavaScript variable: no cookie, nothing in storage, a reload starts a new conversation. Each message is posted as
JSON `{"session": ..., "text": ...}` with the page's signed CSRF token in the `X-CSRF-Token` header; the answer
is `{"messages": [{"text", "buttons": [{"title", "payload"}]}], "token": <fresh token>}` (the fresh token keeps
a page that is in use from expiring after `Settings.csrf_ttl`). Refusals are JSON `{"error": <Dutch text>}`:

- 403 CSRF token missing, forged or expired, or the request comes from another site (Sec-Fetch-Site)
- 413/415/422 body too large, not JSON, invalid session id, empty or too long text
- 429 too many messages from this chat session or this client IP (`bot.ratelimit`, in memory, per process)
- 503 Rasa or the action server is down, slow (`Settings.rasa_timeout`) or answered nothing

Rasa gets `pseudonym.sender_id(secret, "web", session)`, never the session id, and the metadata
`{"channel": "web", "profile": INTEGRITY_PROFILE}` (profile only if set). Text that starts with "/" is passed on
as an intent payload (the quick-reply buttons) only if it is a bare `/intent_name`; otherwise the slashes are
dropped, so nobody can inject entities (`/intent{"entity": ...}`) by typing. Nothing here logs message text,
session ids or IP addresses.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from backoffice.deps import SettingsDep, TemplatesDep, TokenError, TokensDep, from_other_site, read_limited_body
from backoffice.routes.followup import client_ip, evidence_limits
from bot import pseudonym
from bot.rasa_client import BotReply, RasaUnavailable
from bot.texts import channel_texts
from bot.webchat import ChatService
from integrity.content import default_content
from integrity.textnorm import without_control_characters

router = APIRouter(tags=["chat"])
log = logging.getLogger("backoffice.chat")

CHAT_FORM = "chat"
TOKEN_HEADER = "X-CSRF-Token"
TEXT_MAX = 4000
MAX_BODY_BYTES = 64 * 1024  # 4000 characters, each JSON-escaped as \\uXXXX (surrogate pairs too), fit easily
SESSION_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
BARE_PAYLOAD = re.compile(r"/[A-Za-z0-9_]{1,64}")

WELCOME_FALLBACK = ("Hallo! Ik ben de integriteitsassistent: stel me je vragen over integriteit en welzijn op het "
                    "werk, dan wijs ik je de weg naar de juiste persoon.")
PAGE_EXPIRED = ("Deze pagina is verlopen of ongeldig. Herlaad de pagina om verder te chatten; je begint dan een "
                "nieuw gesprek.")
BAD_REQUEST = "Dit bericht kon ik niet lezen. Herlaad de pagina en probeer het opnieuw."
BAD_SESSION = "Deze chat is niet goed gestart. Herlaad de pagina om opnieuw te beginnen."
EMPTY_TEXT = "Je bericht is leeg. Typ eerst wat je wil vragen."


def welcome_text() -> str:
    try:
        return default_content().messages["welcome"]
    except Exception as exc:  # content is data edited by others: a broken file must not break this page
        log.warning("Welcome text unavailable (%s); using the built-in one", type(exc).__name__)
        return WELCOME_FALLBACK


def get_chat(request: Request) -> ChatService:
    return request.app.state.chat  # type: ignore[no-any-return]


ChatDep = Annotated[ChatService, Depends(get_chat)]


def refuse(status_code: int, message: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    log.info("Web chat refused with %d: %s", status_code, reason)
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


def clean_text(raw: str) -> str:
    """Line breaks normalised, control characters (other than newline and tab) dropped, outer whitespace stripped,
    and leading slashes dropped unless the whole text is a bare intent payload."""
    text = without_control_characters(raw).strip()
    if text.startswith("/") and not BARE_PAYLOAD.fullmatch(text):
        text = text.lstrip("/").strip()
    return text


def reply_json(replies: list[BotReply]) -> list[dict[str, Any]]:
    messages = []
    for reply in replies:
        buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                   for b in reply.buttons if isinstance(b, dict) and b.get("title") and b.get("payload")]
        if reply.text or buttons:
            messages.append({"text": str(reply.text or ""), "buttons": buttons})
    return messages


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, templates: TemplatesDep, tokens: TokensDep) -> HTMLResponse:
    texts = channel_texts()
    return templates.TemplateResponse(request, "chat.html", {
        "csrf": tokens.csrf(CHAT_FORM),
        "welcome": welcome_text(),
        "unavailable": texts["unavailable"],
        "text_max": TEXT_MAX,
        "files": evidence_limits(),
    })


@router.post("/chat/berichten")
async def chat_message(request: Request, chat: ChatDep, tokens: TokensDep, settings: SettingsDep) -> JSONResponse:
    texts = channel_texts()
    if from_other_site(request):
        return refuse(403, PAGE_EXPIRED, "posted from another site")
    try:
        tokens.check_csrf(request.headers.get(TOKEN_HEADER, ""), CHAT_FORM)
    except TokenError as exc:
        return refuse(403, PAGE_EXPIRED, f"CSRF check failed: {exc}")

    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return refuse(415, BAD_REQUEST, f"content type '{content_type[:60]}'")
    body = await read_limited_body(request, MAX_BODY_BYTES)
    if body is None:
        return refuse(413, texts["too_long"].format(length=f"meer dan {TEXT_MAX}", limit=TEXT_MAX),
                      "body over the size limit")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deeply ([[[[...]]]])
        return refuse(422, BAD_REQUEST, "body is not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return refuse(422, BAD_REQUEST, "body is not an object with a text")
    session = data.get("session")
    if not isinstance(session, str) or not SESSION_PATTERN.fullmatch(session):
        return refuse(422, BAD_SESSION, "invalid session id")
    text = clean_text(data["text"])
    if not text:
        return refuse(422, EMPTY_TEXT, "empty text")
    if len(text) > TEXT_MAX:
        return refuse(422, texts["too_long"].format(length=len(text), limit=TEXT_MAX), "text too long")

    retry = {"Retry-After": str(int(settings.chat_window))}
    # Keyed by pseudonyms too, so that no raw IP address or session id is kept even in memory.
    client = chat.client_pseudonym(client_ip(request))
    if not chat.per_ip.allow(client):
        return refuse(429, texts["rate_limited"], "rate limit per client address", retry)
    if not chat.per_session.allow(pseudonym.sender_id(chat.secret, "web-limit", session)):
        return refuse(429, texts["rate_limited"], "rate limit per chat session", retry)

    try:
        messages = reply_json(await chat.send(session, text, client))
    except RasaUnavailable as exc:
        log.warning("Web chat: %s", exc)  # the webhook URL and the exception type, no message text
        return JSONResponse({"error": texts["unavailable"]}, status_code=503, headers={"Retry-After": "30"})
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("Web chat: Rasa sent an unreadable answer (%s)", type(exc).__name__)
        return JSONResponse({"error": texts["unavailable"]}, status_code=503, headers={"Retry-After": "30"})
    if not messages:
        log.warning("Web chat: Rasa answered nothing (is the action server down?)")
        return JSONResponse({"error": texts["unavailable"]}, status_code=503, headers={"Retry-After": "30"})
    log.debug("Web chat: message answered with %d messages", len(messages))
    return JSONResponse({"messages": messages, "token": tokens.csrf(CHAT_FORM)})
