"""Administration under /beheer for admins: staff accounts, organisation profiles (read-only) and the audit log.

An installation admin (no organisation) manages every account and reads the whole audit log; an organisation admin
only the accounts and audit entries of their organisation. Accounts outside that scope are "not found" (404).
Every change is audited; passwords are generated with `secrets` and shown once, never stored in plain text.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backoffice.deps import SessionDep, TemplatesDep, UserError
from backoffice.staff import PREFIX, AdminDep, staff_form
from integrity.content import default_content
from integrity.errors import DataFileError
from integrity.notifications import outbox
from integrity.notifications.texts import mode_labels
from integrity.profiles import Profile, available_profiles, get_profile
from integrity.reports.db import transaction
from integrity.reports.deadlines import utcnow
from integrity.staff import accounts, audit, passwords, sessions
from integrity.staff.models import Role, StaffUser
from integrity.staff.sessions import LoadedSession

router = APIRouter(prefix=PREFIX, tags=["beheer"])
log = logging.getLogger("backoffice.staff")

CREATE_FORM = "gebruiker-nieuw"
ACTION_FORM = "gebruiker-actie"
MAIL_FORM = "gebruiker-e-mail"
FIELD_MAX = 256
AUDIT_PAGE = 50
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
NOT_FOUND = "Deze gebruiker bestaat niet, of je mag hem niet beheren."

# Dutch labels of the audit actions (integrity.staff.audit.ACTIONS).
AUDIT_LABELS = {
    "login": "aangemeld",
    "login_failed": "aanmelden mislukt",
    "account_locked": "account vergrendeld na mislukte pogingen",
    "logout": "afgemeld",
    "key_unlocked": "sleutel geopend",
    "keys_created": "sleutelpaar aangemaakt",
    "recovery_key_shown": "herstelsleutel getoond",
    "key_recovered": "sleutel hersteld",
    "keys_replaced": "nieuwe sleutel na herstel zonder herstelsleutel",
    "access_granted": "toegang tot een melding gegeven",
    "access_revoked": "toegang tot een melding ingetrokken",
    "keys_migrated": "meldingen overgezet naar eigen sleutels",
    "report_viewed": "melding geopend",
    "report_acknowledged": "ontvangst bevestigd",
    "status_changed": "status gewijzigd",
    "assigned": "toegewezen aan een medewerker",
    "forwarded": "doorverwezen naar een actor",
    "note_added": "interne notitie toegevoegd",
    "reply_sent": "bericht aan de melder gestuurd",
    "export": "statistieken geëxporteerd",
    "file_downloaded": "bestand van een melder gedownload",
    "user_created": "gebruiker aangemaakt",
    "user_changed": "gebruiker gewijzigd",
    "totp_enabled": "tweede stap aangezet",
    "totp_disabled": "tweede stap uitgezet",
    "password_changed": "wachtwoord gewijzigd",
    "mail_retried": "mislukte e-mail opnieuw in de wachtrij gezet",
}

# action in the account form -> (message after success)
DONE = {
    "deactiveren": "De account is uitgeschakeld en overal afgemeld. Zijn sleutels voor meldingen zijn gewist.",
    "activeren": "De account is weer actief.",
    "ontgrendelen": "De account is ontgrendeld. De gebruiker kan zich meteen opnieuw aanmelden.",
    "tweede-stap-resetten": "De tweede stap is uitgezet. De gebruiker stelt hem opnieuw in via Mijn account.",
    "e-mail": "Het e-mailadres en de e-mailmeldingen zijn bewaard.",
}


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "")[:FIELD_MAX].strip()


def new_password() -> str:
    """16 random characters from an unambiguous alphabet (about 93 bits), in groups of four for reading aloud."""
    raw = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


# --- scope -----------------------------------------------------------------------------------------------------


def managed_profiles(admin: StaffUser) -> list[Profile]:
    ids = available_profiles() if admin.profile_id is None else [admin.profile_id]
    profiles = []
    for profile_id in ids:
        try:
            profiles.append(get_profile(profile_id))
        except DataFileError as exc:
            log.error("Cannot load organisation profile: %s", exc)
    return profiles


def managed_user(db: SessionDep, admin: StaffUser, user_id: int) -> StaffUser:
    # A 64-bit id at most: a larger number cannot be an account (and would overflow the database driver).
    user = db.get(StaffUser, user_id) if 0 < user_id < 2**63 else None
    if user is None or (admin.profile_id is not None and user.profile_id != admin.profile_id):
        raise UserError(404, NOT_FOUND, log_reason=f"staff user {user_id} missing or outside the admin's scope")
    return user


def _audit_profile(user: StaffUser) -> str | None:
    return user.profile_id


# --- account list and creation ---------------------------------------------------------------------------------


@dataclass
class NewAccount:
    username: str = ""
    display_name: str = ""
    role: str = "coordinator"
    profile_id: str = ""
    actor: str = ""
    email: str = ""


def users_page(request: Request, db: SessionDep, templates: TemplatesDep, loaded: LoadedSession, *,
               error: str = "", values: NewAccount | None = None, status_code: int = 200) -> HTMLResponse:
    admin = loaded.user
    users = accounts.list_users(db, admin.profile_id)
    profiles = managed_profiles(admin)
    default = NewAccount(profile_id=admin.profile_id or (profiles[0].id if profiles else ""))
    return templates.TemplateResponse(request, "staff/admin_users.html", {
        "users": users, "profiles": profiles, "names": {p.id: p.name for p in profiles},
        "installation_admin": admin.profile_id is None, "roles": [r.value for r in Role],
        "values": values or default, "error": error, "now": utcnow(),
        "csrf": loaded.csrf_token(CREATE_FORM), "failed_mails": len(outbox.failed(db, admin.profile_id)),
    }, status_code=status_code)


@router.get("/gebruikers", response_class=HTMLResponse)
def list_users(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep) -> HTMLResponse:
    return users_page(request, db, templates, loaded)


class Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _checked(admin: StaffUser, values: NewAccount) -> tuple[Role, str | None, str | None]:
    """Role, organisation and actor of a new account, or Refused with a Dutch message."""
    try:
        role = Role(values.role)
    except ValueError:
        raise Refused("Kies een rol: beheerder, coördinator of behandelaar.") from None
    if not values.profile_id:
        if admin.profile_id is not None or role != Role.ADMIN:
            raise Refused("Kies een organisatie voor deze gebruiker. Alleen een beheerder van de hele installatie "
                          "kan zonder organisatie werken.")
        return role, None, None
    if values.profile_id not in {p.id for p in managed_profiles(admin)}:
        raise Refused("Deze organisatie bestaat niet, of je mag er geen gebruikers voor aanmaken.")
    actor = values.actor or None
    if role != Role.HANDLER:
        actor = None
    elif actor is not None and actor not in get_profile(values.profile_id).actors:
        raise Refused("Deze actor hoort niet bij die organisatie. Kies een actor uit de lijst.")
    return role, values.profile_id, actor


@router.post("/gebruikers", response_class=HTMLResponse)
def create_user(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep,
                form: Annotated[dict[str, str], Depends(staff_form(CREATE_FORM))]) -> HTMLResponse:
    admin = loaded.user
    values = NewAccount(_field(form, "gebruikersnaam").lower(), _field(form, "naam"), _field(form, "rol"),
                        _field(form, "organisatie"), _field(form, "actor"), _field(form, "e-mail"))
    typed = form.get("wachtwoord", "")[:FIELD_MAX]
    password = typed or new_password()
    try:
        role, profile_id, actor = _checked(admin, values)
        with transaction(db):
            user = accounts.create_user(db, values.username, values.display_name, role, password,
                                        profile_id=profile_id, actor=actor, email=values.email)
            audit.record(db, "user_created", user=admin, profile_id=_audit_profile(user),
                         detail=f"created '{user.username}' (id {user.id}) as {user.role.value}"
                                + (f", actor {user.actor}" if user.actor else "")
                                + ("; e-mail address set" if user.email else "")
                                + ("; password generated" if not typed else "; password typed by the admin"))
    except Refused as exc:
        return users_page(request, db, templates, loaded, error=exc.message, values=values, status_code=400)
    except (accounts.AccountError, passwords.WeakPassword) as exc:
        log.info("Account not created: %s", type(exc).__name__)
        return users_page(request, db, templates, loaded, error=exc.user_message, values=values, status_code=400)
    return templates.TemplateResponse(request, "staff/admin_password.html", {
        "target": user, "password": "" if typed else password, "created": True})


# --- one account -----------------------------------------------------------------------------------------------


def user_page(request: Request, db: SessionDep, templates: TemplatesDep, loaded: LoadedSession, user: StaffUser,
              *, message: str = "", error: str = "", status_code: int = 200, email_value: str | None = None
              ) -> HTMLResponse:
    now, mail = utcnow(), request.app.state.settings.mail
    profile_name = ""
    if user.profile_id:
        try:
            profile_name = get_profile(user.profile_id).name
        except DataFileError:
            profile_name = user.profile_id
    return templates.TemplateResponse(request, "staff/admin_user.html", {
        "target": user, "profile_name": profile_name, "is_self": user.id == loaded.user.id,
        "locked": user.locked_until is not None and user.locked_until > now,
        "session_count": len(sessions.active_sessions(db, user.id, now=now)),
        "message": message, "error": error, "csrf": loaded.csrf_token(ACTION_FORM),
        "csrf_mail": loaded.csrf_token(MAIL_FORM),
        "modes": mode_labels(mail.hourly_cap, mail.digest_hour), "email_value": email_value,
    }, status_code=status_code)


@router.get("/gebruikers/{user_id}", response_class=HTMLResponse)
def show_user(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep, user_id: int,
              gedaan: str = "") -> HTMLResponse:
    user = managed_user(db, loaded.user, user_id)
    return user_page(request, db, templates, loaded, user, message=DONE.get(gedaan, ""))


@router.post("/gebruikers/{user_id}", response_class=HTMLResponse)
def change_user(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep, user_id: int,
                form: Annotated[dict[str, str], Depends(staff_form(ACTION_FORM))]) -> Response:
    admin, user = loaded.user, managed_user(db, loaded.user, user_id)
    action = _field(form, "actie")
    about = f"'{user.username}' (id {user.id})"
    if action not in (*DONE, "wachtwoord-resetten") or action == "e-mail":
        raise UserError(400, "Deze actie bestaat niet. Open de pagina opnieuw.",
                        log_reason="unknown action in the account form")
    if user.id == admin.id and action in ("deactiveren", "wachtwoord-resetten", "tweede-stap-resetten"):
        message = ("Je kan je eigen account niet uitschakelen. Vraag dat aan een andere beheerder."
                   if action == "deactiveren" else
                   "Wijzig je eigen wachtwoord of tweede stap via Mijn account.")
        return user_page(request, db, templates, loaded, user, error=message, status_code=400)
    with transaction(db):  # the change and its audit entry
        if action == "deactiveren":
            revoked = accounts.set_active(db, user, False)
            ended = sessions.end_all(db, user.id)
            audit.record(db, "user_changed", user=admin, profile_id=_audit_profile(user),
                         detail=f"deactivated {about}; {ended} session(s) ended; {revoked} report key(s) deleted")
        elif action == "activeren":
            accounts.set_active(db, user, True)
            audit.record(db, "user_changed", user=admin, profile_id=_audit_profile(user), detail=f"reactivated {about}")
        elif action == "ontgrendelen":
            accounts.unlock(db, user)
            audit.record(db, "user_changed", user=admin, profile_id=_audit_profile(user),
                         detail=f"unlocked {about} after lock-out")
        elif action == "tweede-stap-resetten":
            accounts.disable_totp(db, user)
            audit.record(db, "totp_disabled", user=admin, profile_id=_audit_profile(user),
                         detail=f"second factor of {about} reset by an admin")
        else:
            password = new_password()
            accounts.set_password(db, user, password)
            ended = sessions.end_all(db, user.id)
            audit.record(db, "password_changed", user=admin, profile_id=_audit_profile(user),
                         detail=f"password of {about} reset by an admin; {ended} session(s) ended"
                                + ("; private key awaits the recovery key" if user.public_key is not None else ""))
            return templates.TemplateResponse(request, "staff/admin_password.html", {
                "target": user, "password": password, "created": False})
    return RedirectResponse(f"{PREFIX}/gebruikers/{user.id}?gedaan={action}", status_code=303)


# --- organisation profiles -------------------------------------------------------------------------------------


@router.get("/profielen", response_class=HTMLResponse)
def show_profiles(request: Request, templates: TemplatesDep, loaded: AdminDep) -> HTMLResponse:
    profiles = managed_profiles(loaded.user)
    return templates.TemplateResponse(request, "staff/admin_profiles.html", {
        "profiles": profiles, "labels": default_content().contact_labels,
        "unverified": {p.id: [a for a in p.actors.values() if not a.verified] for p in profiles},
    })


# --- audit log -------------------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def show_audit(request: Request, db: SessionDep, templates: TemplatesDep, loaded: AdminDep, actie: str = "",
               gebruiker: str = "", melding: str = "", voor: str = "") -> HTMLResponse:
    if actie and actie not in audit.ACTIONS:
        raise UserError(400, "Deze actie bestaat niet. Kies een actie uit de lijst.",
                        log_reason="unknown action in the audit filter")
    if voor and (not (voor.isascii() and voor.isdigit()) or len(voor) > 12):  # isdigit() alone accepts "²"
        raise UserError(400, "Deze pagina van het auditlog bestaat niet. Begin opnieuw bij de nieuwste regels.",
                        log_reason="malformed before_id in the audit filter")
    gebruiker, melding = gebruiker.strip().lower()[:64], melding.strip().upper()[:20]
    found = audit.entries(db, profile_id=loaded.user.profile_id, action=actie or None,
                          username=gebruiker or None, report_reference=melding or None,
                          before_id=int(voor) if voor else None, limit=AUDIT_PAGE + 1)
    filters = {"actie": actie, "gebruiker": gebruiker, "melding": melding}
    return templates.TemplateResponse(request, "staff/audit.html", {
        "entries": found[:AUDIT_PAGE], "older": found[AUDIT_PAGE - 1].id if len(found) > AUDIT_PAGE else None,
        "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v}),
        "labels": {name: AUDIT_LABELS.get(name, name) for name in audit.ACTIONS}, "paged": bool(voor),
    })
