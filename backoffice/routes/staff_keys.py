"""Staff members' keys under /beheer: the recovery key (shown once), recovery after a reset, access grants.

- GET /beheer/herstelsleutel: the new recovery key, shown once (first login, after a recovery); printable.
- GET/POST /beheer/herstel: after an admin reset the password no longer opens the private key: the recovery key
  re-opens it, or the staff member starts over with a new key pair (and waits for colleagues' grants).
- GET/POST /beheer/toegang: colleagues who wait for access to reports this staff member can open, and the button
  that grants it ("toegang geven"), audited per report.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backoffice.deps import FORM_EXPIRED, SessionDep, TemplatesDep, UserError
from backoffice.staff import PREFIX, CaseWorkerDep, StaffDep, staff_form
from integrity.reports.db import transaction
from integrity.staff import access, key_flows, passwords, sessions, user_keys
from integrity.staff.models import StaffUser
from integrity.staff.sessions import LoadedSession

router = APIRouter(prefix=PREFIX, tags=["beheer"])
log = logging.getLogger("backoffice.staff")

RECOVER_FORM = "sleutel-herstellen"
GRANT_FORM = "toegang-geven"
FIELD_MAX = 256

WRONG_PASSWORD = "Je wachtwoord klopt niet. Er is niets gewijzigd."
WRONG_RECOVERY_KEY = ("Die herstelsleutel klopt niet. Controleer de 32 tekens (streepjes en spaties mogen). "
                      "Er is niets gewijzigd.")
NOT_CONFIRMED = ("Vink aan dat je begrijpt dat je de toegang tot je meldingen verliest. Er is niets gewijzigd.")
NO_KEY = "Je sleutel is niet geopend in deze sessie. Meld je opnieuw aan en probeer het dan nog eens."
GRANTED = "{name} kan nu {count} melding(en) openen."
NOTHING_TO_GRANT = "Er is niets meer om te geven: deze collega wacht niet (meer) op meldingen die jij kan openen."


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "")[:FIELD_MAX]


# --- the recovery key, shown once ------------------------------------------------------------------------------


@router.get("/herstelsleutel", response_class=HTMLResponse)
def show_recovery_key(request: Request, db: SessionDep, templates: TemplatesDep, loaded: StaffDep) -> HTMLResponse:
    with transaction(db):  # taken out of the session: a reload does not show it again
        recovery_key = sessions.take_recovery_key(db, loaded)
    return templates.TemplateResponse(request, "staff/recovery_key.html", {"recovery_key": recovery_key})


# --- recovery after an admin's reset ---------------------------------------------------------------------------


def recover_page(request: Request, templates: TemplatesDep, loaded: LoadedSession, *, error: str = "",
                 error_field: str = "", status_code: int = 200) -> HTMLResponse:
    """`error_field`: the id of the field the error is about (marked invalid, described by the error, focused)."""
    return templates.TemplateResponse(request, "staff/recover.html", {
        "csrf": loaded.csrf_token(RECOVER_FORM), "error": error, "error_field": error_field,
        "awaits": user_keys.awaits_recovery(loaded.user)}, status_code=status_code)


@router.get("/herstel", response_class=HTMLResponse)
def show_recover(request: Request, templates: TemplatesDep, loaded: CaseWorkerDep) -> HTMLResponse:
    return recover_page(request, templates, loaded)


@router.post("/herstel", response_class=HTMLResponse)
def recover(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep,
            form: Annotated[dict[str, str], Depends(staff_form(RECOVER_FORM))]) -> Response:
    user = loaded.user
    if not user_keys.awaits_recovery(user):
        return recover_page(request, templates, loaded)
    step, password = form.get("stap", ""), _field(form, "wachtwoord")
    if step not in ("sleutel", "opnieuw"):
        raise UserError(400, FORM_EXPIRED, log_reason="unknown step in the recovery form")
    if not passwords.verify_password(user.password_hash, password):
        return recover_page(request, templates, loaded, error=WRONG_PASSWORD, status_code=400,
                            error_field="herstel-wachtwoord" if step == "sleutel" else "opnieuw-wachtwoord")
    if step == "opnieuw" and form.get("begrepen") != "ja":
        return recover_page(request, templates, loaded, error=NOT_CONFIRMED, error_field="begrepen",
                            status_code=400)
    try:
        with transaction(db):  # the re-wrapped (or new) key, the session's copy and the audit entries
            if step == "sleutel":
                private, recovery_key = key_flows.recover(db, user, _field(form, "herstelsleutel"), password)
            else:
                private, recovery_key = key_flows.start_over(db, user, password)
            sessions.store_private_key(db, loaded, private)
            sessions.store_recovery_key(db, loaded, recovery_key)
    except user_keys.WrongRecoveryKey as exc:
        log.info("Recovery refused: %s", exc)
        return recover_page(request, templates, loaded, error=WRONG_RECOVERY_KEY, error_field="herstelsleutel",
                            status_code=400)
    return RedirectResponse(f"{PREFIX}/herstelsleutel", status_code=303)


# --- granting access to colleagues -----------------------------------------------------------------------------


def access_page(request: Request, db: SessionDep, templates: TemplatesDep, loaded: LoadedSession, *,
                message: str = "", status_code: int = 200) -> HTMLResponse:
    unlocked = sessions.private_key(loaded) is not None
    return templates.TemplateResponse(request, "staff/access.html", {
        "waiting": access.waiting(db, loaded.user) if unlocked else [], "unlocked": unlocked,
        "message": message, "csrf": loaded.csrf_token(GRANT_FORM)}, status_code=status_code)


@router.get("/toegang", response_class=HTMLResponse)
def show_access(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep) -> HTMLResponse:
    return access_page(request, db, templates, loaded)


@router.post("/toegang", response_class=HTMLResponse)
def grant_access(request: Request, db: SessionDep, templates: TemplatesDep, loaded: CaseWorkerDep,
                 form: Annotated[dict[str, str], Depends(staff_form(GRANT_FORM))]) -> Response:
    private = sessions.private_key(loaded)
    if private is None:
        raise UserError(423, NO_KEY, log_reason="access grant without an unlocked key")
    raw = _field(form, "collega")
    colleague = db.get(StaffUser, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if colleague is None or colleague.profile_id != loaded.user.profile_id:
        raise UserError(404, "Deze collega bestaat niet in je organisatie.", log_reason="grant to unknown colleague")
    with transaction(db):  # every wrapped key with its audit entry
        count = access.grant_colleague(db, loaded.user, private, colleague)
    message = GRANTED.format(name=colleague.display_name, count=count) if count else NOTHING_TO_GRANT
    return access_page(request, db, templates, loaded, message=message)
