"""Evidence uploads by reporters: `POST /chat/bestanden` (the web chat) and `POST /opvolgen/bestanden` (the
follow-up page, after the receipt code).

The file is the raw request body (`static/evidence.js` sends the chosen file's bytes, never a multipart form),
read here into memory under `evidence.MAX_FILE_BYTES`: nothing is spooled to a temporary file, and the bytes
are cleaned and encrypted before anything is stored (`integrity.reports.evidence`). Headers:

- `X-CSRF-Token`: the page's token (chat: the chat form's, follow-up: the message form's); a fresh one comes back
- `X-Metadata`: `verwijderen` (the default) or `behouden` — the reporter's choice
- chat: `X-Chat-Session`, the chat's session id; follow-up: `X-Toegang`, the page's report token

The chat's file waits (encrypted, `PendingFile`) for the report or follow-up message of that chat session, which
the action server stores together with it; the follow-up page's file is stored with the report at once.
Answers are JSON: `{"file": {"label", "size", "summary"}, "message": <Dutch>, "token"}`, or `{"error": <Dutch>}`
with 403 (CSRF, other site), 400 (aborted upload, report token expired), 409 (report closed), 413 (too big),
422 (refused type, damaged, zip bomb, count or quota, bad session id), 429 (rate limit), 503 (storage down).
Nothing here logs file bytes, names or session ids.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from backoffice.deps import SettingsDep, TokenError, TokensDep, from_other_site
from backoffice.routes.chat import BAD_SESSION, CHAT_FORM, PAGE_EXPIRED, SESSION_PATTERN, ChatDep, refuse
from backoffice.routes.followup import MESSAGE_FORM, client_ip
from bot import pseudonym
from bot.texts import channel_texts
from bot.webchat import CHANNEL
from integrity.reports import crypto, db, errors, evidence, report_keys
from integrity.reports.metadata import Cleaned

router = APIRouter(tags=["bestanden"])
log = logging.getLogger("backoffice.evidence")

ABORTED = ("Het versturen van je bestand is onderbroken. Van dit bestand is niets bewaard; wat je eerder stuurde "
           "blijft bewaard. Probeer het opnieuw.")
STORAGE_DOWN = "Je bestand kon nu niet bewaard worden. Probeer het over een minuut opnieuw."
FOLLOWUP_ADDED = "Het is bij je melding gevoegd."
ACCESS_EXPIRED = ("Je bestand is niet bewaard: deze pagina was te lang open of is niet meer geldig. Geef je "
                  "ontvangstcode opnieuw en probeer het nog eens.")


class UploadProblem(Exception):
    def __init__(self, status_code: int, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status_code, self.message, self.reason = status_code, message, reason


def too_big() -> str:
    return evidence.TOO_BIG.format(limit=evidence.MAX_FILE_BYTES // (1024 * 1024))


async def read_upload(request: Request, limit: int) -> bytes:
    """The body in memory, at most `limit` bytes; UploadProblem when it is larger or the upload breaks off."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadProblem(413, too_big(), "declared body over the file size limit")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise UploadProblem(413, too_big(), "body over the file size limit")
    except ClientDisconnect:
        raise UploadProblem(400, ABORTED, "upload aborted by the client") from None
    if declared.isdigit() and len(body) < int(declared):
        raise UploadProblem(400, ABORTED, "body shorter than its Content-Length")
    return bytes(body)


def strip_choice(request: Request) -> bool:
    return request.headers.get("x-metadata", "verwijderen").strip().lower() != "behouden"


def file_json(cleaned: Cleaned) -> dict[str, object]:
    return {"label": cleaned.kind.label, "size": len(cleaned.data), "summary": cleaned.summary()}


async def prepared(request: Request) -> Cleaned:
    data = await read_upload(request, evidence.MAX_FILE_BYTES)
    try:
        return await run_in_threadpool(evidence.prepare, data, strip_metadata=strip_choice(request))
    except errors.FileRefused as exc:
        raise UploadProblem(413 if "te groot" in exc.user_message else 422, exc.user_message,
                            exc.operator_message) from None


@router.post("/chat/bestanden")
async def chat_upload(request: Request, chat: ChatDep, tokens: TokensDep, settings: SettingsDep) -> JSONResponse:
    if from_other_site(request):
        return refuse(403, PAGE_EXPIRED, "file posted from another site")
    try:
        tokens.check_csrf(request.headers.get("x-csrf-token", ""), CHAT_FORM)
    except TokenError as exc:
        return refuse(403, PAGE_EXPIRED, f"CSRF check failed: {exc}")
    session = request.headers.get("x-chat-session", "")
    if not SESSION_PATTERN.fullmatch(session):
        return refuse(422, BAD_SESSION, "invalid session id")
    texts = channel_texts()
    retry = {"Retry-After": str(int(settings.chat_window))}
    if not chat.per_ip.allow(pseudonym.sender_id(chat.secret, "web-ip", client_ip(request))):
        return refuse(429, texts["rate_limited"], "rate limit per client address", retry)
    if not chat.per_session.allow(pseudonym.sender_id(chat.secret, "web-limit", session)):
        return refuse(429, texts["rate_limited"], "rate limit per chat session", retry)
    try:
        cleaned = await prepared(request)
        owner = pseudonym.sender_id(chat.secret, CHANNEL, session)  # the sender id Rasa and the actions see
        waiting = await run_in_threadpool(db.run, request.app.state.sessions,
                                          lambda db_session: evidence.stage(db_session, owner, cleaned))
    except UploadProblem as problem:
        return refuse(problem.status_code, problem.message, problem.reason)
    except errors.FileRefused as exc:
        return refuse(422, exc.user_message, exc.operator_message)
    except Exception as exc:  # the database is down or locked: nothing stored, the reporter may retry
        log.error("Chat file could not be stored (%s)", type(exc).__name__)
        return refuse(503, STORAGE_DOWN, "storage unavailable", {"Retry-After": "30"})
    log.info("Chat file kept for its report: %s, %d bytes, %d waiting", cleaned.kind.media_type,
             len(cleaned.data), waiting)
    return JSONResponse({"file": file_json(cleaned), "waiting": waiting,
                         "message": f"{evidence.describe(cleaned)} {evidence.WAITING}",
                         "token": tokens.csrf(CHAT_FORM)})


@router.post("/opvolgen/bestanden")
async def followup_upload(request: Request, tokens: TokensDep) -> JSONResponse:
    if from_other_site(request):
        return refuse(403, PAGE_EXPIRED, "file posted from another site")
    try:
        tokens.check_csrf(request.headers.get("x-csrf-token", ""), MESSAGE_FORM)
        grant = tokens.check_report_token(request.headers.get("x-toegang", ""))
    except TokenError as exc:
        return refuse(400, ACCESS_EXPIRED, f"token rejected: {exc}")
    try:
        cleaned = await prepared(request)

        def store(db_session: Session) -> None:  # the report token is ours (sealed), issued after the code
            evidence.add_file(db_session, grant.report_id, cleaned)

        await run_in_threadpool(db.run, request.app.state.sessions, store)
    except UploadProblem as problem:
        return refuse(problem.status_code, problem.message, problem.reason)
    except errors.ReportClosed as exc:
        return refuse(409, exc.user_message, "report closed")
    except report_keys.NotMigrated as exc:  # between the upgrade and the key migration
        return refuse(503, exc.user_message, "report awaits the key migration", {"Retry-After": "3600"})
    except crypto.DecryptionError:
        return refuse(400, ACCESS_EXPIRED, "reporter key does not open the report")
    except errors.ReportNotFound as exc:
        return refuse(404, exc.user_message, "report gone")
    except errors.FileRefused as exc:
        return refuse(422, exc.user_message, exc.operator_message)
    except Exception as exc:
        log.error("Follow-up file could not be stored (%s)", type(exc).__name__)
        return refuse(503, STORAGE_DOWN, "storage unavailable", {"Retry-After": "30"})
    log.info("Follow-up file stored: %s, %d bytes", cleaned.kind.media_type, len(cleaned.data))
    return JSONResponse({"file": file_json(cleaned), "message": f"{evidence.describe(cleaned)} {FOLLOWUP_ADDED}",
                         "token": tokens.csrf(MESSAGE_FORM)})
