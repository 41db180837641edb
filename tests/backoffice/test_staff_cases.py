"""Case pages under /beheer/meldingen: list, detail, every change, bad input and CSRF, on the real app and SQLite.

Also holds the helpers the permission matrix (test_staff_permissions.py) uses: staff accounts of two
organisations, logging in as one of them, and a snapshot of a report's state to prove that refusals store nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.staff import COOKIE
from integrity.reports import casework, deadlines, reporter, submission
from integrity.reports.models import Report, ReportMessage
from integrity.staff import access, accounts, user_keys
from integrity.staff import sessions as staff_sessions
from integrity.staff.models import AuditEntry, CaseNote, Role
from tests.backoffice.conftest import (
    PEOPLE,
    WHAT_HAPPENED,
    Keys,
    Submitted,
    enter_code,
    form_field,
    hidden,
    make_draft,
    submit,
)

PASSWORD = "een lang wachtwoord 42"
ORG_A, ORG_B = "vlaamse-overheid", "federale-politie"
USERS: dict[str, tuple[Role, str | None, str | None]] = {  # username -> role, organisation, actor
    "beheerder": (Role.ADMIN, None, None),
    "coord-a": (Role.COORDINATOR, ORG_A, None),
    "coord-b": (Role.COORDINATOR, ORG_B, None),
    "handler-actor": (Role.HANDLER, ORG_A, "audit_vlaanderen"),
    "handler-assigned": (Role.HANDLER, ORG_A, None),
    "handler-other": (Role.HANDLER, ORG_A, "vertrouwenspersoon"),
}
CONTACT = "melder@example.org"
NOTE = "Interne notitie: eerst de facturen van Kluisbouw NV opvragen bij de boekhouding."
REPLY = "Dank je voor je melding. Kan je zeggen over welke periode het gaat?"
CLOSE_REASON = "Onderzocht door Audit Vlaanderen; maatregelen genomen."
# form name -> (path suffix, valid fields)
FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "melding-bevestigen": ("bevestigen", {}),
    "melding-status": ("status", {"status": "in_behandeling", "reden": ""}),
    "melding-toewijzen": ("toewijzen", {"behandelaar": ""}),  # filled in with a colleague's id
    "melding-doorverwijzen": ("doorverwijzen", {"actor": "vertrouwenspersoon"}),
    "melding-notitie": ("notitie", {"notitie": NOTE}),
    "melding-bericht": ("bericht", {"bericht": REPLY}),
}


# --- helpers (also used by test_staff_permissions.py) -----------------------------------------------------------


def create_users(sessions: sessionmaker[Session]) -> dict[str, int]:
    ids = {}
    with sessions.begin() as session:
        for username, (role, profile, actor) in USERS.items():
            user = accounts.create_user(session, username, username.replace("-", " ").title(), role, PASSWORD,
                                        profile_id=profile, actor=actor)
            ids[username] = user.id
    return ids


def login_as(client: TestClient, username: str) -> None:
    """A fresh session for `username` in this client (earlier cookies dropped); the password opens their key."""
    client.cookies.clear()
    page = client.get("/beheer/aanmelden")
    response = client.post("/beheer/aanmelden", data={"csrf": hidden(page.text, "csrf"), "gebruiker": username,
                                                      "wachtwoord": PASSWORD, "volgende": ""}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf_for(client: TestClient, sessions: sessionmaker[Session], form: str) -> str:
    """The session's CSRF token for `form`, as its page carries it (also for pages the user cannot open)."""
    with sessions.begin() as session:
        loaded = staff_sessions.load(session, client.cookies.get(COOKIE, path="/beheer"))
        assert loaded is not None, "not logged in"
        return loaded.csrf_token(form)


def post_form(client: TestClient, sessions: sessionmaker[Session], reference: str, form: str,
              fields: dict[str, str] | None = None, **headers: str) -> httpx.Response:
    suffix, valid = FORMS[form]
    data = {"csrf": csrf_for(client, sessions, form), **(valid if fields is None else fields)}
    return client.post(f"/beheer/meldingen/{reference}/{suffix}", data=data, headers=headers,
                       follow_redirects=False)


@dataclass(frozen=True)
class State:
    status: str
    acknowledged: bool
    assignee_id: int | None
    target_actor: str | None
    notes: int
    messages: int
    status_changes: int


def state(sessions: sessionmaker[Session], reference: str) -> State:
    with sessions.begin() as session:
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        notes = session.scalar(select(func.count(CaseNote.id)).where(CaseNote.report_id == report.id)) or 0
        messages = session.scalar(select(func.count(ReportMessage.id))
                                  .where(ReportMessage.report_id == report.id)) or 0
        return State(report.status.value, report.acknowledged_at is not None, report.assignee_id,
                     report.target_actor, notes, messages, len(report.status_changes))


def audit_for(sessions: sessionmaker[Session], reference: str) -> list[tuple[str, str]]:
    with sessions.begin() as session:
        return [(entry.username, entry.action) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.report_reference == reference).order_by(AuditEntry.id))]


def assign_directly(sessions: sessionmaker[Session], reference: str, user_id: int | None) -> None:
    """Set the assignee without the case pages; the report key follows the scope (wrapped with coord-a's key)."""
    with sessions.begin() as session:
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        report.assignee_id = user_id
        coordinator = accounts.get_user(session, "coord-a")
        assert coordinator is not None
        access.follow_scope(session, report, coordinator, user_keys.unlock(coordinator, PASSWORD))


def make_case(sessions: sessionmaker[Session], keys: Keys, users: dict[str, int]) -> Submitted:
    """A report of organisation A for Audit Vlaanderen, assigned to handler-assigned, with a contact."""
    case = submit(sessions, keys, preferred_route="audit_vlaanderen", anonymous=False, contact=CONTACT)
    assign_directly(sessions, case.reference, users["handler-assigned"])
    return case


def submit_at(sessions: sessionmaker[Session], keys: Keys, at: datetime, **changes: object) -> Submitted:
    """A report submitted through the service layer at another moment (for deadlines in the past)."""
    with sessions.begin() as session:
        result = submission.submit_report(session, make_draft(**changes), now=at)
        report_id = session.scalar(select(Report.id).where(Report.reference == result.reference))
    return Submitted(result.receipt_code, result.reference, str(report_id), result.ack_due, result.feedback_due)


def position(html: str, reference: str) -> int:
    index = html.find(f">{reference}</a>")
    assert index >= 0, f"{reference} not in the list"
    return index


# --- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture
def users(sessions: sessionmaker[Session]) -> dict[str, int]:
    return create_users(sessions)


@pytest.fixture
def case(sessions: sessionmaker[Session], keys: Keys, users: dict[str, int]) -> Submitted:
    return make_case(sessions, keys, users)


# --- the list --------------------------------------------------------------------------------------------------


def test_list_needs_a_login(client: TestClient) -> None:
    response = client.get("/beheer/meldingen", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/aanmelden?volgende=/beheer/meldingen"


def test_list_shows_metadata_and_deadline_badges_but_no_content(client: TestClient, case: Submitted) -> None:
    login_as(client, "coord-a")
    page = client.get("/beheer/meldingen")
    assert page.status_code == 200
    assert case.reference in page.text
    assert "Fraude en corruptie" in page.text
    assert "Ontvangst bevestigen binnen 7 dagen: nog 7 dagen" in page.text
    assert "Handler Assigned" in page.text  # the assignee
    assert WHAT_HAPPENED not in page.text and CONTACT not in page.text and PEOPLE not in page.text


def test_list_filters_sorts_and_marks_overdue_cases(
        client: TestClient, sessions: sessionmaker[Session], keys: Keys, users: dict[str, int]) -> None:
    now = deadlines.utcnow()
    fresh = submit(sessions, keys, preferred_route="vertrouwenspersoon", category="pesten")
    late_ack = submit_at(sessions, keys, now - timedelta(days=10))  # ack due 3 days ago
    late_feedback = submit_at(sessions, keys, now - timedelta(days=130))
    closed = submit_at(sessions, keys, now - timedelta(days=1))
    with sessions.begin() as session:
        casework.acknowledge(session, late_feedback.report_id, now=now - timedelta(days=100))  # feedback due ~10 d ago
        casework.change_status(session, closed.report_id, "afgesloten", "dubbel")
    assign_directly(sessions, late_ack.reference, users["coord-a"])
    login_as(client, "coord-a")

    by_deadline = client.get("/beheer/meldingen").text
    assert (position(by_deadline, late_feedback.reference) < position(by_deadline, late_ack.reference)
            < position(by_deadline, fresh.reference) < position(by_deadline, closed.reference))
    by_date = client.get("/beheer/meldingen?sorteer=datum").text
    assert (position(by_date, fresh.reference) < position(by_date, closed.reference)
            < position(by_date, late_ack.reference) < position(by_date, late_feedback.reference))
    assert "<strong>Te laat:</strong> ontvangst bevestigen binnen 7 dagen, 3 dagen over tijd" in by_deadline
    assert "<strong>Te laat:</strong> feedback binnen 3 maanden" in by_deadline
    assert by_deadline.count('class="overdue"') == 2

    def shown(query: str) -> set[str]:
        html = client.get(f"/beheer/meldingen?{query}").text
        return {ref for ref in (fresh.reference, late_ack.reference, late_feedback.reference, closed.reference)
                if f">{ref}</a>" in html}

    assert shown("te_laat=1") == {late_ack.reference, late_feedback.reference}
    assert shown("status=afgesloten") == {closed.reference}
    assert shown("status=open") == {fresh.reference, late_ack.reference, late_feedback.reference}
    assert shown("status=ontvangen") == {late_feedback.reference}
    assert shown("onderwerp=pesten") == {fresh.reference}
    assert shown("actor=vertrouwenspersoon") == {fresh.reference}
    assert shown("mij=1") == {late_ack.reference}
    assert shown("mij=1&te_laat=1&onderwerp=fraude_corruptie") == {late_ack.reference}
    assert "1 melding met deze filters" in client.get("/beheer/meldingen?mij=1").text


@pytest.mark.parametrize(("query", "message"), [
    ("status=verdwenen", "Deze status bestaat niet."),
    ("pagina=abc", "Dit paginanummer bestaat niet."),
    ("pagina=0", "Dit paginanummer bestaat niet."),
    ("sorteer=willekeurig", "Op deze manier kunnen we niet sorteren."),
    ("onderwerp=%3Cscript%3E", "Dit onderwerp bestaat niet."),
])
def test_bad_list_parameters_get_a_dutch_error(client: TestClient, users: dict[str, int], query: str,
                                               message: str) -> None:
    login_as(client, "coord-a")
    response = client.get(f"/beheer/meldingen?{query}")
    assert response.status_code == 400 and message in response.text


def test_list_pages_by_fifty(client: TestClient, sessions: sessionmaker[Session], keys: Keys,
                             users: dict[str, int]) -> None:
    references = [submit(sessions, keys).reference for _ in range(53)]
    login_as(client, "coord-a")
    first = client.get("/beheer/meldingen?sorteer=datum")
    assert "53 meldingen" in first.text and "Pagina 1 van 2" in first.text
    assert sum(f">{ref}</a>" in first.text for ref in references) == 50
    assert 'href="/beheer/meldingen?sorteer=datum&amp;pagina=2"' in first.text
    second = client.get("/beheer/meldingen?sorteer=datum&pagina=2")
    assert sum(f">{ref}</a>" in second.text for ref in references) == 3
    assert 'href="/beheer/meldingen?sorteer=datum" rel="prev"' in second.text
    beyond = client.get("/beheer/meldingen?sorteer=datum&pagina=9")  # clipped to the last page
    assert "Pagina 2 van 2" in beyond.text


def test_unread_reporter_messages_are_counted_until_the_case_is_opened(
        client: TestClient, sessions: sessionmaker[Session], keys: Keys, case: Submitted) -> None:
    with sessions.begin() as session:
        for text in ("Nog iets: het gebeurde ook in april.", "En in mei."):
            reporter.add_reporter_message(session, case.code, text)
    login_as(client, "coord-a")
    assert "2 nieuwe berichten van de melder" in client.get("/beheer/meldingen").text
    detail = client.get(f"/beheer/meldingen/{case.reference}").text
    assert "En in mei." in detail and "2 nieuwe berichten van de melder" in detail
    assert "nieuwe berichten van de melder" not in client.get("/beheer/meldingen").text


# --- the detail page -------------------------------------------------------------------------------------------


def test_a_newcomer_waits_for_access_until_a_colleague_grants_it(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted) -> None:
    with sessions.begin() as session:  # a coordinator who joins after the report came in: in scope, no key
        accounts.create_user(session, "coord-nieuw", "Nieuwe Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id=ORG_A)
    login_as(client, "coord-nieuw")
    listed = client.get("/beheer/meldingen")
    assert case.reference in listed.text and "Wacht op toegang" in listed.text
    page = client.get(f"/beheer/meldingen/{case.reference}")
    assert page.status_code == 200
    assert "Fraude en corruptie" in page.text and "Audit Vlaanderen" in page.text and "wacht op toegang" in page.text
    assert WHAT_HAPPENED not in page.text and CONTACT not in page.text
    assert ("coord-nieuw", "report_viewed") not in audit_for(sessions, case.reference)
    assert post_form(client, sessions, case.reference, "melding-bericht").status_code == 423

    login_as(client, "coord-a")  # a colleague with access grants it
    waiting = client.get("/beheer/toegang")
    assert "Nieuwe Coördinator" in waiting.text and "1 melding(en)" in waiting.text
    with sessions.begin() as session:
        newcomer = accounts.get_user(session, "coord-nieuw")
        assert newcomer is not None
        newcomer_id = newcomer.id
    granted = client.post("/beheer/toegang", data={"csrf": form_field(waiting.text, "/beheer/toegang"),
                                                   "collega": str(newcomer_id)})
    assert granted.status_code == 200 and "Nieuwe Coördinator kan nu 1 melding(en) openen." in granted.text
    assert ("coord-a", "access_granted") in audit_for(sessions, case.reference)
    assert "Niemand wacht op toegang" in client.get("/beheer/toegang").text

    login_as(client, "coord-nieuw")
    assert "Wacht op toegang" not in client.get("/beheer/meldingen").text
    assert WHAT_HAPPENED in client.get(f"/beheer/meldingen/{case.reference}").text


def test_unlocked_case_is_decrypted_and_the_view_audited(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted) -> None:
    login_as(client, "coord-a")
    page = client.get(f"/beheer/meldingen/{case.reference}")
    assert page.status_code == 200
    for text in (WHAT_HAPPENED, PEOPLE, "afdeling aankoop, gebouw B", CONTACT, "Handler Assigned"):
        assert text in page.text
    assert ("coord-a", "report_viewed") in audit_for(sessions, case.reference)
    client.get(f"/beheer/meldingen/{case.reference.lower()}")  # references are case-insensitive
    assert audit_for(sessions, case.reference).count(("coord-a", "report_viewed")) == 2


def test_anonymous_report_says_there_is_no_contact(
        client: TestClient, sessions: sessionmaker[Session], keys: Keys, users: dict[str, int]) -> None:
    anonymous = submit(sessions, keys)
    login_as(client, "coord-a")
    assert "geen: de melder liet geen contactgegevens achter" in client.get(
        f"/beheer/meldingen/{anonymous.reference}").text


def test_unknown_and_out_of_scope_references_get_the_same_404(
        client: TestClient, case: Submitted) -> None:
    login_as(client, "coord-b")
    hidden_case = client.get(f"/beheer/meldingen/{case.reference}")
    unknown = client.get("/beheer/meldingen/M-2026-ZZZZZZ")
    assert hidden_case.status_code == unknown.status_code == 404
    assert hidden_case.text == unknown.text
    assert "Deze melding bestaat niet of je hebt er geen toegang toe." in unknown.text
    assert client.get("/beheer/meldingen/M-2026-ZZ%3BZZ").text == unknown.text
    assert case.reference not in client.get("/beheer/meldingen").text


# --- changes ---------------------------------------------------------------------------------------------------


def test_case_workflow_reply_reaches_the_reporter_but_notes_never_do(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted) -> None:
    login_as(client, "coord-a")
    ref = case.reference

    acknowledged = post_form(client, sessions, ref, "melding-bevestigen")
    assert acknowledged.status_code == 303
    assert acknowledged.headers["location"] == f"/beheer/meldingen/{ref}?gedaan=bevestigd"
    assert "De ontvangst is bevestigd." in client.get(acknowledged.headers["location"]).text
    assert state(sessions, ref).status == "ontvangen" and state(sessions, ref).acknowledged
    again = post_form(client, sessions, ref, "melding-bevestigen")
    assert again.headers["location"].endswith("gedaan=al-bevestigd")

    assert post_form(client, sessions, ref, "melding-notitie").status_code == 303
    with sessions.begin() as session:
        sealed = session.scalar(select(CaseNote.body_sealed))
    assert sealed is not None and NOTE.encode() not in sealed
    assert post_form(client, sessions, ref, "melding-bericht").status_code == 303
    assert post_form(client, sessions, ref, "melding-status").status_code == 303
    closed = post_form(client, sessions, ref, "melding-status", {"status": "afgesloten", "reden": CLOSE_REASON})
    assert closed.status_code == 303

    detail = client.get(f"/beheer/meldingen/{ref}?gedaan=status").text
    assert "De status is gewijzigd." in detail
    assert NOTE in detail and REPLY in detail and CLOSE_REASON in detail
    assert "Afgesloten" in detail and "Status: In behandeling → Afgesloten" in detail
    assert 'action="/beheer/meldingen/' + ref + '/status"' not in detail  # closed is final
    assert state(sessions, ref).status == "afgesloten"
    actions = [action for user, action in audit_for(sessions, ref) if user == "coord-a"]
    for action in ("report_acknowledged", "note_added", "reply_sent", "status_changed", "report_viewed"):
        assert action in actions
    assert actions.count("status_changed") == 2

    client.cookies.clear()
    reporter = enter_code(client, case.digits)
    assert reporter.status_code == 200
    assert REPLY in reporter.text
    assert NOTE not in reporter.text and "Interne notitie" not in reporter.text
    assert CLOSE_REASON not in reporter.text


def test_forwarding_lets_the_actors_handlers_see_the_case(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted) -> None:
    login_as(client, "handler-other")
    assert client.get(f"/beheer/meldingen/{case.reference}").status_code == 404
    login_as(client, "coord-a")
    forwarded = post_form(client, sessions, case.reference, "melding-doorverwijzen", {"actor": "vertrouwenspersoon"})
    assert forwarded.status_code == 303
    after = state(sessions, case.reference)
    assert after.status == "doorverwezen" and after.target_actor == "vertrouwenspersoon" and after.acknowledged
    assert ("coord-a", "forwarded") in audit_for(sessions, case.reference)
    login_as(client, "handler-other")
    assert case.reference in client.get("/beheer/meldingen").text
    page = client.get(f"/beheer/meldingen/{case.reference}")
    assert page.status_code == 200 and "de vertrouwenspersoon" in page.text
    assert 'action="/beheer/meldingen/' + case.reference + '/toewijzen"' not in page.text  # coordinators only


def test_assigning_to_a_colleague_and_to_nobody(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted, users: dict[str, int]) -> None:
    login_as(client, "coord-a")
    page = client.get(f"/beheer/meldingen/{case.reference}").text
    assert "Handler Other (behandelaar)" in page and "Coord B" not in page  # only colleagues are offered
    assigned = post_form(client, sessions, case.reference, "melding-toewijzen",
                         {"behandelaar": str(users["handler-other"])})
    assert assigned.status_code == 303 and state(sessions, case.reference).assignee_id == users["handler-other"]
    login_as(client, "handler-other")
    assert client.get(f"/beheer/meldingen/{case.reference}").status_code == 200
    login_as(client, "coord-a")
    assert post_form(client, sessions, case.reference, "melding-toewijzen").status_code == 303
    assert state(sessions, case.reference).assignee_id is None


BAD_INPUT = [
    ("melding-status", {"status": "gesloten", "reden": ""}, "Kies een geldige nieuwe status."),
    ("melding-status", {"status": "afgesloten", "reden": "  \n "}, "Geef een reden om de melding af te sluiten."),
    ("melding-status", {"status": "nieuw", "reden": ""}, "Deze statuswijziging kan niet"),
    ("melding-status", {"status": "doorverwezen", "reden": ""}, "Gebruik de knop Doorverwijzen"),
    ("melding-status", {"status": "afgesloten", "reden": "r" * 5001}, "De tekst is te lang: maximaal 5000 tekens"),
    ("melding-notitie", {"notitie": "n" * 5001}, "De tekst is te lang: maximaal 5000 tekens (nu 5001)"),
    ("melding-notitie", {"notitie": " \t "}, "Schrijf eerst je notitie."),
    ("melding-bericht", {"bericht": "b" * 5001}, "De tekst is te lang: maximaal 5000 tekens"),
    ("melding-bericht", {"bericht": ""}, "Schrijf eerst je bericht."),
    ("melding-toewijzen", {"behandelaar": "coord-b"}, "Kies iemand van je eigen organisatie."),
    ("melding-toewijzen", {"behandelaar": "999999"}, "Kies iemand van je eigen organisatie."),
    ("melding-toewijzen", {"behandelaar": "beheerder"}, "Kies iemand van je eigen organisatie."),
    ("melding-doorverwijzen", {"actor": "comite_p"}, "Kies een dienst of persoon uit de lijst."),
    ("melding-doorverwijzen", {"actor": "noodhulp_112"}, "Kies een dienst of persoon uit de lijst."),
]


@pytest.mark.parametrize(("form", "fields", "message"), BAD_INPUT,
                         ids=[f"{form}-{index}" for index, (form, _, _) in enumerate(BAD_INPUT)])
def test_bad_input_gets_a_dutch_error_and_stores_nothing(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted, users: dict[str, int],
        form: str, fields: dict[str, str], message: str) -> None:
    fields = {name: str(users.get(value, value)) for name, value in fields.items()}  # usernames -> ids
    login_as(client, "coord-a")
    before = state(sessions, case.reference)
    audit_before = audit_for(sessions, case.reference)
    response = post_form(client, sessions, case.reference, form, fields)
    assert response.status_code == 400
    assert message in response.text and "Let op:" in response.text
    assert state(sessions, case.reference) == before
    changes = [action for _, action in audit_for(sessions, case.reference)[len(audit_before):]]
    assert set(changes) <= {"report_viewed"}  # the page shown again is a view, nothing else
    if form in ("melding-notitie", "melding-bericht") and fields[form.split("-")[1]].strip():
        assert fields[form.split("-")[1]] in response.text  # the typed text is kept


def test_closed_case_cannot_be_forwarded(client: TestClient, sessions: sessionmaker[Session], case: Submitted) -> None:
    login_as(client, "coord-a")
    post_form(client, sessions, case.reference, "melding-status", {"status": "afgesloten", "reden": CLOSE_REASON})
    before = state(sessions, case.reference)
    response = post_form(client, sessions, case.reference, "melding-doorverwijzen")
    assert response.status_code == 400 and "Een afgesloten melding kan je niet meer doorverwijzen." in response.text
    assert state(sessions, case.reference) == before


def test_reply_needs_a_key_for_the_report(client: TestClient, sessions: sessionmaker[Session],
                                         case: Submitted) -> None:
    with sessions.begin() as session:
        accounts.create_user(session, "coord-nieuw", "Nieuwe Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id=ORG_A)
    login_as(client, "coord-nieuw")
    response = post_form(client, sessions, case.reference, "melding-bericht")
    assert response.status_code == 423 and "nog geen sleutel voor deze melding" in response.text
    assert state(sessions, case.reference).messages == 0
    # changes that need no key work without it and answer with the confirmation
    assert post_form(client, sessions, case.reference, "melding-notitie").status_code == 303
    bad = post_form(client, sessions, case.reference, "melding-notitie", {"notitie": "x" * 5001})
    assert bad.status_code == 400 and "De tekst is te lang" in bad.text


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_refuses_a_missing_wrong_or_cross_site_csrf_token(
        client: TestClient, sessions: sessionmaker[Session], case: Submitted, users: dict[str, int],
        form: str) -> None:
    login_as(client, "coord-a")
    suffix, fields = FORMS[form]
    url = f"/beheer/meldingen/{case.reference}/{suffix}"
    other_form = "melding-notitie" if form != "melding-notitie" else "melding-bericht"
    before = state(sessions, case.reference)
    attempts = [
        client.post(url, data={**fields, "andere": "1"}, follow_redirects=False),  # no token at all
        client.post(url, data={**fields, "csrf": csrf_for(client, sessions, other_form)}, follow_redirects=False),
        client.post(url, data={**fields, "csrf": "x" * 43}, follow_redirects=False),
        client.post(url, data={**fields, "csrf": csrf_for(client, sessions, form)},
                    headers={"sec-fetch-site": "cross-site"}, follow_redirects=False),
    ]
    for response in attempts:
        assert response.status_code == 400
        assert "Dit formulier is verlopen of ongeldig." in response.text
    assert state(sessions, case.reference) == before
    # the page's own token works
    page = client.get(f"/beheer/meldingen/{case.reference}").text
    token = form_field(page, url)
    assert token == csrf_for(client, sessions, form)
    assert re.search(rf'action="{re.escape(url)}"', page)
