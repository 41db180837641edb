"""The reporter's follow-up page: status, deadlines, the report and the messages, with the receipt code.

GET /opvolgen asks the code; POST /opvolgen checks it with `reporter.authenticate_reporter` (throttled per client IP,
constant work for right, wrong and malformed codes) and shows the report (`reporter.reporter_view`) with a form to
add information. That form carries a report token (see `backoffice.deps`) with the report id and reporter key
instead of the code; POST /opvolgen/bericht stores the message (`reporter.add_reporter_message_with_key`) and shows
the report again. Nothing here logs a code, a report text or an IP address.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from backoffice.deps import (
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TokenError,
    Tokens,
    TokensDep,
    csrf_checked_form,
)
from integrity import report_fields, report_flow
from integrity.reports import crypto, deadlines, errors, evidence, report_keys, reporter
from integrity.reports.db import transaction
from integrity.reports.models import Author, ReportStatus
from integrity.reports.schemas import ReporterView
from integrity.reports.validation import MESSAGE_MAX
from integrity.textnorm import without_control_characters

router = APIRouter(tags=["opvolgen"])
log = logging.getLogger("backoffice.followup")

CODE_FORM = "opvolgen"
MESSAGE_FORM = "bericht"
CODE_MAX_CHARS = 64  # 16 digits with spaces or dashes fit easily; longer input is not a code

UNKNOWN_CODE = "Deze code kennen we niet. Controleer de cijfers."
EMPTY_CODE = "Vul je ontvangstcode in: de 16 cijfers die je kreeg toen je je melding verstuurde."
ACCESS_EXPIRED = ("Je bericht is niet verstuurd: deze pagina was langer dan 15 minuten open of is niet meer "
                  "geldig. Vul je ontvangstcode opnieuw in.")
EMPTY_MESSAGE = "Schrijf eerst je bericht. Er is niets verstuurd."
CONTROL_CHARACTERS = ("Je bericht bevatte onzichtbare stuurtekens. We hebben die weggehaald: controleer je tekst "
                      "hieronder en verstuur hem opnieuw. Er is nog niets verstuurd.")
MESSAGE_ADDED = "Je bericht is toegevoegd aan je melding. Het integriteitsteam krijgt het te zien."

AUTHORS = {Author.REPORTER: "Jij", Author.BACKOFFICE: "Integriteitsteam"}

_topic_labels: dict[str, str] | None = None


def topic_label(category: str) -> str:
    """The Dutch label of a report topic (integrity/content/topics.yml), else the id made readable."""
    global _topic_labels
    if _topic_labels is None:
        try:
            from integrity.content import default_content

            _topic_labels = {name: route.label for name, route in default_content().routes.items()}
        except Exception as exc:  # content is data edited by others: a broken file must not break this page
            log.warning("Topic labels unavailable (%s); showing topic ids", type(exc).__name__)
            _topic_labels = {}
    return _topic_labels.get(category) or category.replace("_", " ").capitalize()


def client_ip(request: Request) -> str:
    """The throttle key for follow-up attempts: the client IP (the service stores only a keyed hash of it).

    `request.client.host` is the TCP peer. Behind a reverse proxy that is the proxy, and every reporter would share
    one throttle bucket: five wrong codes from anyone would lock everybody out for ten minutes. Then run uvicorn
    with `--forwarded-allow-ips <proxy address>` (`python -m backoffice --forwarded-allow-ips ...`), so that it
    replaces client.host with the X-Forwarded-For address the proxy sets; never trust that header from elsewhere.
    """
    if request.client and request.client.host:
        return request.client.host
    return "unknown"


def clean_message(raw: str) -> tuple[str, str | None]:
    """(text to store or show again, Dutch problem or None). Control characters are refused, not silently dropped."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    kept = without_control_characters(text)
    if kept != text:
        return kept.strip(), CONTROL_CHARACTERS
    text = text.strip()
    if not text:
        return "", EMPTY_MESSAGE
    if len(text) > MESSAGE_MAX:
        return text, (f"Je bericht is te lang: maximaal {MESSAGE_MAX} tekens (nu {len(text)}). Maak het korter of "
                      "verdeel het over meerdere berichten. Er is niets verstuurd.")
    return text, None


# --- pages -----------------------------------------------------------------------------------------------------


def evidence_limits() -> dict[str, Any]:
    """What the upload control (templates/evidence_control.html) says about the limits."""
    mb = 1024 * 1024
    return {"max_bytes": evidence.MAX_FILE_BYTES, "max_mb": evidence.MAX_FILE_BYTES // mb,
            "max_count": evidence.MAX_FILES_PER_REPORT, "quota_mb": evidence.REPORT_QUOTA_BYTES // mb,
            "too_big": evidence.TOO_BIG.format(limit=evidence.MAX_FILE_BYTES // mb),
            "accept": ".jpg,.jpeg,.png,.pdf,.docx,.xlsx,.odt,.txt,image/jpeg,image/png,application/pdf,text/plain"}


def form_page(request: Request, templates: TemplatesDep, tokens: Tokens, *, error: str = "", status_code: int = 200,
              unsent_text: str = "", headers: dict[str, str] | None = None) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "followup_form.html",
        {"csrf": tokens.csrf(CODE_FORM), "error": error, "unsent_text": unsent_text},
        status_code=status_code, headers=headers,
    )


def view_page(request: Request, templates: TemplatesDep, tokens: Tokens, view: ReporterView, access_token: str,
              expires_at: int, *, notice: str = "", error: str = "", draft: str = "",
              status_code: int = 200, report_files: list[evidence.FileInfo] | None = None) -> HTMLResponse:
    report = view.report
    status_label = report_flow.status_labels("title")[view.status.value]
    status_text = report_flow.status_labels("explanation")[view.status.value]
    context = {
        "view": view,
        "status_label": status_label,
        "status_text": status_text,
        "ack_due": deadlines.ack_due_for(view.created_at),
        "topic": topic_label(str(report.get("category", ""))),
        "fields": [(label, str(report.get(key) or "")) for key, label in report_fields.SHOWN],
        "anonymous": bool(report.get("anonymous", True)),
        "contact": str(report.get("contact") or ""),
        "messages": [{"author": AUTHORS[m.author], "from_reporter": m.author == Author.REPORTER,
                      "created_at": m.created_at, "text": m.text, "new": m.new and m.author != Author.REPORTER}
                     for m in view.messages],
        "closed": view.status == ReportStatus.AFGESLOTEN,
        "csrf": tokens.csrf(MESSAGE_FORM),
        "access_token": access_token,
        "access_until": datetime.fromtimestamp(expires_at, timezone.utc),
        "message_max": MESSAGE_MAX,
        "notice": notice,
        "error": error,
        "draft": draft,
        "files": evidence_limits(),
        "report_files": report_files or [],
    }
    return templates.TemplateResponse(request, "followup_view.html", context, status_code=status_code)


@router.get("/opvolgen", response_class=HTMLResponse)
def show_code_form(request: Request, templates: TemplatesDep, tokens: TokensDep) -> HTMLResponse:
    return form_page(request, templates, tokens)


@router.post("/opvolgen", response_class=HTMLResponse)
def submit_code(
    request: Request,
    form: Annotated[dict[str, str], Depends(csrf_checked_form(CODE_FORM))],
    session: SessionDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> HTMLResponse:
    code = form.get("code", "")
    if not code.strip():
        return form_page(request, templates, tokens, error=EMPTY_CODE, status_code=400)
    if len(code) > CODE_MAX_CHARS:
        log.info("Follow-up refused: code field longer than %d characters", CODE_MAX_CHARS)
        return form_page(request, templates, tokens, error=UNKNOWN_CODE, status_code=400)
    try:
        # The same throttled, constant-work check as `reporter.follow_up`, which also hands back the report id and
        # reporter key for the report token: one Argon2 derivation per attempt.
        with transaction(session):  # a wrong code's failed attempt is kept (UnknownReceipt.keeps_changes)
            report_id, reporter_key = reporter.authenticate_reporter(session, code, client_ip(request))
            view = reporter.reporter_view(session, report_id, reporter_key)
            report_files = evidence.list_files(session, report_id)
    except errors.UnknownReceipt:
        log.info("Follow-up: unknown receipt code")
        return form_page(request, templates, tokens, error=UNKNOWN_CODE, status_code=400)
    except errors.FollowUpThrottled as exc:
        log.warning("Follow-up: sender throttled for %d s after repeated unknown codes", exc.retry_after)
        return form_page(request, templates, tokens, error=exc.user_message, status_code=429,
                         headers={"Retry-After": str(exc.retry_after)})
    except errors.ReportNotFound:  # purged in the meantime
        return form_page(request, templates, tokens, error=UNKNOWN_CODE, status_code=400)
    access_token = tokens.report_token(report_id, reporter_key)
    log.info("Follow-up: report shown")
    return view_page(request, templates, tokens, view, access_token, tokens.check_report_token(access_token).expires_at,
                     report_files=report_files)


@router.post("/opvolgen/bericht", response_class=HTMLResponse)
def submit_message(
    request: Request,
    form: Annotated[dict[str, str], Depends(csrf_checked_form(MESSAGE_FORM))],
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> HTMLResponse:
    raw_text = form.get("bericht", "")
    access_token = form.get("toegang", "")
    try:
        grant = tokens.check_report_token(access_token)
    except TokenError as exc:
        log.info("Add message refused: report token rejected (%s)", exc)
        return form_page(request, templates, tokens, error=ACCESS_EXPIRED, status_code=400,
                         unsent_text=clean_message(raw_text)[0])
    text, problem = clean_message(raw_text)
    notice, status_code = "", 200
    try:
        if problem is None:
            try:
                with transaction(session):
                    reporter.add_reporter_message_with_key(session, grant.report_id, grant.reporter_key, text)
                notice, text = MESSAGE_ADDED, ""
                log.info("Follow-up: reporter message added")
            except errors.ReportClosed as exc:
                problem, status_code = exc.user_message, 409
            except report_keys.NotMigrated as exc:  # an installation between the upgrade and the key migration
                problem, status_code = exc.user_message, 503
        else:
            status_code = 422
        with transaction(session):  # marks the messages read
            view = reporter.reporter_view(session, grant.report_id, grant.reporter_key)
            report_files = evidence.list_files(session, grant.report_id)
    except crypto.DecryptionError:  # errors.WrongReporterKey, or a damaged reporter's copy
        log.warning("Add message refused: the reporter key in a valid report token does not open the report")
        return form_page(request, templates, tokens, error=ACCESS_EXPIRED, status_code=400, unsent_text=text)
    except errors.ReportNotFound as exc:
        log.info("Add message refused: the report no longer exists")
        return form_page(request, templates, tokens, error=exc.user_message, status_code=404, unsent_text=text)
    return view_page(request, templates, tokens, view, access_token, grant.expires_at, notice=notice,
                     error=problem or "", draft=text, status_code=status_code, report_files=report_files)
