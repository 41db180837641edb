"""Notification mails in the back office: a user's own preference (Mijn account), the admin's e-mail settings of
an account, and the admins' page of mails that could not be delivered (/beheer/e-mail), with "try again".

Every change is audited (names and ids only, never an address in the audit detail).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backoffice.deps import SessionDep, TemplatesDep, UserError
from backoffice.routes.staff_admin import MAIL_FORM, managed_user, user_page
from backoffice.routes.staff_login import NOTIFY_FORM, account_page
from backoffice.staff import PREFIX, AdminDep, StaffDep, staff_form
from integrity.notifications import outbox
from integrity.reports.db import transaction
from integrity.reports.deadlines import utcnow
from integrity.staff import accounts, audit
from integrity.staff.models import NotifyMode

router = APIRouter(prefix=PREFIX, tags=["beheer"])
log = logging.getLogger("backoffice.staff")
RETRY_FORM = "e-mail-opnieuw"
FIELD_MAX = 256
SAVED = {
    NotifyMode.IMMEDIATE: "Bewaard: je krijgt meteen een e-mail als er iets gebeurt.",
    NotifyMode.DAILY: "Bewaard: je krijgt één overzicht per dag.",
    NotifyMode.OFF: "Bewaard: je krijgt geen e-mails meer. Kijk zelf geregeld in de back office.",
}


def _mode(form: dict[str, str]) -> NotifyMode:
    try:
        return NotifyMode(form.get("meldingen", "")[:20])
    except ValueError:
        raise UserError(400, "Kies hoe vaak je e-mails wil krijgen. Open de pagina opnieuw en probeer het nog eens.",
                        log_reason="unknown notification preference in the form") from None


@router.post("/account/meldingen", response_class=HTMLResponse)
def own_preference(request: Request, db: SessionDep, templates: TemplatesDep, loaded: StaffDep,
                   form: Annotated[dict[str, str], Depends(staff_form(NOTIFY_FORM))]) -> HTMLResponse:
    mode = _mode(form)
    with transaction(db):
        accounts.set_notify_mode(db, loaded.user, mode)
        audit.record(db, "user_changed", user=loaded.user, detail=f"own notification mails: {mode.value}")
    return account_page(request, templates, loaded, message=SAVED[mode])


@router.post("/gebruikers/{user_id}/e-mail", response_class=HTMLResponse)
def account_mail(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep, user_id: int,
                 form: Annotated[dict[str, str], Depends(staff_form(MAIL_FORM))]) -> Response:
    user = managed_user(db, loaded.user, user_id)
    typed = form.get("e-mail", "")[:FIELD_MAX].strip()
    mode = _mode(form)
    try:
        with transaction(db):
            accounts.set_email(db, user, typed)
            accounts.set_notify_mode(db, user, mode)
            audit.record(db, "user_changed", user=loaded.user, profile_id=user.profile_id,
                         detail=f"e-mail settings of '{user.username}' (id {user.id}): address "
                                f"{'set' if user.email else 'none'}, mails {mode.value}")
    except accounts.InvalidAccount as exc:
        return user_page(request, db, templates, loaded, user, error=exc.user_message, status_code=400,
                         email_value=typed)
    return RedirectResponse(f"{PREFIX}/gebruikers/{user.id}?gedaan=e-mail", status_code=303)


@router.get("/e-mail", response_class=HTMLResponse)
def mail_problems(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep,
                  gedaan: str = "") -> HTMLResponse:
    return templates.TemplateResponse(request, "staff/mail_problems.html", {
        "failed": outbox.failed(db, loaded.user.profile_id),
        "counts": {status.value: count for status, count in outbox.counts(db).items()},
        "configured": request.app.state.settings.mail.configured, "csrf": loaded.csrf_token(RETRY_FORM),
        "message": "De e-mail staat opnieuw in de wachtrij." if gedaan == "opnieuw" else "",
    })


@router.post("/e-mail/{mail_id}/opnieuw", response_class=HTMLResponse)
def retry_mail(db: SessionDep, loaded: AdminDep, mail_id: int,
               form: Annotated[dict[str, str], Depends(staff_form(RETRY_FORM))]) -> Response:
    visible = {mail.id: user for mail, user in outbox.failed(db, loaded.user.profile_id, limit=1000)}
    if mail_id not in visible:
        raise UserError(404, "Deze e-mail bestaat niet, is al verstuurd of hoort niet bij jouw organisatie.",
                        log_reason=f"outbox mail {mail_id} not failed or outside the admin's scope")
    with transaction(db):
        outbox.retry(db, mail_id, utcnow())
        audit.record(db, "mail_retried", user=loaded.user, profile_id=visible[mail_id].profile_id,
                     detail=f"outbox mail {mail_id} for '{visible[mail_id].username}'")
    return RedirectResponse(f"{PREFIX}/e-mail?gedaan=opnieuw", status_code=303)
