"""Case work under /beheer/meldingen, for coordinators and handlers (`integrity.staff.cases` does the work).

- GET /beheer/meldingen: the scoped case list (metadata only, nothing decrypted), with filters, sorting and pages.
- GET /beheer/meldingen/{reference}: the case: the decrypted report, messages, notes and history (audited as
  report_viewed), opened with the staff member's key (unlocked at login) through their grant. Without a grant the
  case is "wacht op toegang": only the metadata, never an error.
- POST /beheer/meldingen/{reference}/{bevestigen,status,toewijzen,doorverwijzen,notitie,bericht}: one change each,
  with the session's CSRF token for that form. Success redirects to the case with a Dutch confirmation; bad input
  shows the case again with a Dutch error and the typed text, and stores nothing.
An unknown reference and a report outside the staff member's scope get the same 404 page.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backoffice.deps import SessionDep, TemplatesDep, UserError
from backoffice.errors import status_for
from backoffice.routes.followup import topic_label
from backoffice.staff import PREFIX, CaseWorkerDep, staff_form
from integrity import report_fields, report_flow
from integrity.reports import errors, evidence, report_keys
from integrity.reports.db import transaction
from integrity.reports.models import Author, ReportStatus
from integrity.staff import caselist, cases, sessions
from integrity.staff.errors import CaseError, CaseForbidden
from integrity.staff.models import Role
from integrity.staff.sessions import LoadedSession

router = APIRouter(prefix=f"{PREFIX}/meldingen", tags=["beheer"])
log = logging.getLogger("backoffice.cases")

ACK_FORM = "melding-bevestigen"
STATUS_FORM = "melding-status"
ASSIGN_FORM = "melding-toewijzen"
FORWARD_FORM = "melding-doorverwijzen"
NOTE_FORM = "melding-notitie"
REPLY_FORM = "melding-bericht"
_REFERENCE = re.compile(r"[A-Za-z0-9-]{1,40}")
FIELD_MAX = 20_000  # longer than any allowed text: the cases module gives the Dutch "too long" error

NOT_FOUND = "Deze melding bestaat niet of je hebt er geen toegang toe."
KEY_LOCKED = ("Je hebt nog geen sleutel voor deze melding, dus je kan ze niet beantwoorden. Je bericht is niet "
              "verstuurd. Vraag een collega die de melding kan openen om je toegang te geven.")
KEY_LOCKED_FILE = ("Je hebt nog geen sleutel voor deze melding, dus je kan dit bestand niet downloaden. Wacht tot je "
                   "toegang krijgt: vraag een collega die de melding kan openen om je toegang te geven.")
BAD_PAGE = "Dit paginanummer bestaat niet."

DONE: dict[str, str] = {
    "bevestigd": "De ontvangst is bevestigd. De melder ziet dat op de opvolgpagina.",
    "al-bevestigd": "De ontvangst was al bevestigd. Er is niets gewijzigd.",
    "status": "De status is gewijzigd.",
    "toegewezen": "De toewijzing is bewaard.",
    "doorverwezen": "De melding is doorverwezen.",
    "notitie": "Je notitie is bewaard. Alleen het back office ziet ze, nooit de melder.",
    "bericht": "Je bericht is verstuurd. De melder leest het met de ontvangstcode op de opvolgpagina.",
}
HISTORY_LABELS: dict[str, str] = {
    "status": "Status gewijzigd",
    "report_viewed": "Melding geopend",
    "report_acknowledged": "Ontvangst bevestigd",
    "status_changed": "Status gewijzigd",
    "assigned": "Toegewezen aan",
    "forwarded": "Doorverwezen naar",
    "note_added": "Interne notitie toegevoegd",
    "reply_sent": "Bericht aan de melder verstuurd",
    "export": "Geëxporteerd",
    "access_granted": "Toegang gegeven",
    "access_revoked": "Toegang ingetrokken",
    "file_downloaded": "Bestand gedownload",
}


def _not_found(reference: str) -> UserError:
    return UserError(404, NOT_FOUND, log_reason="report unknown or outside the staff member's scope")


def _find(db: Session, loaded: LoadedSession, reference: str) -> Any:
    if not _REFERENCE.fullmatch(reference):
        raise _not_found(reference)
    try:
        return cases.find(db, loaded.user, reference)
    except errors.ReportNotFound:
        raise _not_found(reference) from None


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "")[:FIELD_MAX]


# --- the case list ---------------------------------------------------------------------------------------------


def _filter_from(request: Request) -> caselist.CaseFilter:
    params = request.query_params
    page_text = params.get("pagina", "1").strip() or "1"
    if not (page_text.isascii() and page_text.isdigit()) or len(page_text) > 6:  # isdigit() alone accepts "²"
        raise UserError(400, BAD_PAGE, log_reason="malformed page number")
    try:
        return caselist.CaseFilter(
            status=params.get("status") or None, category=params.get("onderwerp") or None,
            actor=params.get("actor") or None, mine=params.get("mij") == "1", overdue=params.get("te_laat") == "1",
            sort=params.get("sorteer") or "termijn", page=int(page_text),
        )
    except CaseError as exc:
        raise UserError(400, exc.user_message, log_reason=f"bad case list filter: {exc}") from None


def _query(wanted: caselist.CaseFilter, page: int) -> str:
    values = {"status": wanted.status or "", "onderwerp": wanted.category or "", "actor": wanted.actor or "",
              "mij": "1" if wanted.mine else "", "te_laat": "1" if wanted.overdue else "",
              "sorteer": "" if wanted.sort == "termijn" else wanted.sort, "pagina": "" if page == 1 else str(page)}
    return urlencode({name: value for name, value in values.items() if value})


@router.get("", response_class=HTMLResponse)
def case_list(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep) -> HTMLResponse:
    wanted = _filter_from(request)
    page = caselist.list_cases(db, loaded.user, wanted)
    actors = caselist.organisation_actors(loaded.user.profile_id)
    return templates.TemplateResponse(request, "staff/case_list.html", {
        "page": page, "wanted": wanted, "status_labels": report_flow.status_labels("staff"), "actors": actors,
        "categories": sorted(((c, topic_label(c)) for c in caselist.report_categories()), key=lambda item: item[1]),
        "topic_label": topic_label,
        "previous_query": _query(wanted, page.page - 1) if page.page > 1 else None,
        "next_query": _query(wanted, page.page + 1) if page.page < page.pages else None,
        "filtered": any((wanted.status, wanted.category, wanted.actor, wanted.mine, wanted.overdue)),
    })


# --- one case --------------------------------------------------------------------------------------------------


def _case_page(request: Request, db: Session, templates: TemplatesDep, loaded: LoadedSession, reference: str, *,
               notice: str = "", error: str = "", error_form: str = "", values: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    report = _find(db, loaded, reference)
    private = sessions.private_key(loaded)
    view = None
    if private is not None and report_keys.has_access(db, report.id, loaded.user.id):
        try:
            with transaction(db):  # the view is audited, and the reporter's messages are marked read
                view = cases.open_case(db, loaded.user, report.reference, private)
        except report_keys.NoAccess as exc:  # a grant that does not open with this key: shown as locked
            log.warning("Case shown locked: %s", exc)
    if view is None:
        if error:
            raise UserError(status_code, error, log_reason="case form refused (no key for the report)")
        return templates.TemplateResponse(request, "staff/case_locked.html", {
            "row": caselist.summary_of(db, report, user=loaded.user),
            "status_labels": report_flow.status_labels("staff"),
            "topic_label": topic_label,
            "actor_name": caselist.organisation_actors(report.profile_id).get(report.target_actor or "", ""),
            "awaits_recovery": private is None and loaded.user.public_key is not None,
        }, status_code=status_code)
    actors = caselist.organisation_actors(report.profile_id)
    coordinator = loaded.user.role == Role.COORDINATOR
    content = view.detail.content
    return templates.TemplateResponse(request, "staff/case_detail.html", {
        "view": view, "row": view.row, "content": content, "notice": notice, "error": error,
        "error_form": error_form, "values": values or {}, "status_labels": report_flow.status_labels("staff"),
        "topic_label": topic_label, "actors": actors, "actor_name": actors.get(report.target_actor or "", ""),
        "fields": [(label, str(content.get(key) or "")) for key, label in report_fields.SHOWN],
        "messages": view.detail.messages, "reporter": Author.REPORTER,
        "next_statuses": [s for s in cases.allowed_statuses(report.status) if s != ReportStatus.DOORVERWEZEN],
        "coordinator": coordinator, "colleagues": caselist.colleagues(db, loaded.user) if coordinator else [],
        "history_labels": HISTORY_LABELS, "files": evidence.list_files(db, report.id),
        "csrf": {name: loaded.csrf_token(name) for name in (ACK_FORM, STATUS_FORM, ASSIGN_FORM, FORWARD_FORM,
                                                             NOTE_FORM, REPLY_FORM)},
    }, status_code=status_code)


@router.get("/{reference}", response_class=HTMLResponse)
def show_case(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
              gedaan: str = "") -> HTMLResponse:
    return _case_page(request, db, templates, loaded, reference, notice=DONE.get(gedaan, ""))


def _done(reference: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/meldingen/{reference}?gedaan={what}", status_code=303)


def _refused(request: Request, db: Session, templates: TemplatesDep, loaded: LoadedSession, reference: str,
             exc: CaseError, form_name: str, values: dict[str, str]) -> HTMLResponse:
    log.info("Case change refused on form %s: %s", form_name, exc)
    if isinstance(exc, CaseForbidden):
        raise UserError(status_for(exc), exc.user_message, log_reason=str(exc))
    return _case_page(request, db, templates, loaded, reference, error=exc.user_message, error_form=form_name,
                      values=values, status_code=status_for(exc))


@router.post("/{reference}/bevestigen", response_class=HTMLResponse)
def acknowledge(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
                form: Annotated[dict[str, str], Depends(staff_form(ACK_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    with transaction(db):
        changed = cases.acknowledge(db, loaded.user, report.reference)
    return _done(report.reference, "bevestigd" if changed else "al-bevestigd")


@router.post("/{reference}/status", response_class=HTMLResponse)
def change_status(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
                  form: Annotated[dict[str, str], Depends(staff_form(STATUS_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    status, reason = _field(form, "status"), _field(form, "reden")
    try:
        with transaction(db):
            cases.change_status(db, loaded.user, report.reference, status, reason)
    except CaseError as exc:
        return _refused(request, db, templates, loaded, report.reference, exc, STATUS_FORM,
                        {"status": status, "reden": reason})
    return _done(report.reference, "status")


@router.post("/{reference}/toewijzen", response_class=HTMLResponse)
def assign(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
           form: Annotated[dict[str, str], Depends(staff_form(ASSIGN_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    try:
        with transaction(db):
            cases.assign(db, loaded.user, report.reference, _field(form, "behandelaar")[:20],
                         sessions.private_key(loaded))
    except CaseError as exc:
        return _refused(request, db, templates, loaded, report.reference, exc, ASSIGN_FORM, {})
    return _done(report.reference, "toegewezen")


@router.post("/{reference}/doorverwijzen", response_class=HTMLResponse)
def forward(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
            form: Annotated[dict[str, str], Depends(staff_form(FORWARD_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    try:
        with transaction(db):
            cases.forward(db, loaded.user, report.reference, _field(form, "actor")[:64],
                          sessions.private_key(loaded))
    except CaseError as exc:
        return _refused(request, db, templates, loaded, report.reference, exc, FORWARD_FORM, {})
    return _done(report.reference, "doorverwezen")


@router.post("/{reference}/notitie", response_class=HTMLResponse)
def add_note(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
             form: Annotated[dict[str, str], Depends(staff_form(NOTE_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    text = _field(form, "notitie")
    try:
        with transaction(db):
            cases.add_note(db, loaded.user, report.reference, text)
    except CaseError as exc:
        return _refused(request, db, templates, loaded, report.reference, exc, NOTE_FORM, {"notitie": text})
    return _done(report.reference, "notitie")


@router.post("/{reference}/bericht", response_class=HTMLResponse)
def reply(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep, reference: str,
          form: Annotated[dict[str, str], Depends(staff_form(REPLY_FORM))]) -> Response:
    report = _find(db, loaded, reference)
    private = sessions.private_key(loaded)
    if private is None or not report_keys.has_access(db, report.id, loaded.user.id):
        raise UserError(423, KEY_LOCKED, log_reason="reply without a key for the report")
    text = _field(form, "bericht")
    try:
        with transaction(db):
            cases.reply(db, loaded.user, report.reference, text, private)
    except CaseError as exc:
        return _refused(request, db, templates, loaded, report.reference, exc, REPLY_FORM, {"bericht": text})
    return _done(report.reference, "bericht")
