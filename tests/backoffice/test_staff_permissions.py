"""Who may do what on the case pages: every role and scope against the list, the detail page and every form.

Rows: no login, admin, coordinator of organisation A (the report's), coordinator of organisation B, a handler
whose actor the report is forwarded to, a handler the report is assigned to, and a handler of A with neither.
A refused request stores nothing: the report's state is compared before and after.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.backoffice.conftest import Keys, Submitted
from tests.backoffice.test_staff_cases import (
    FORMS,
    create_users,
    csrf_for,
    login_as,
    make_case,
    post_form,
    state,
)

ACTIONS = ("list", "detail", *FORMS)
WORKER = {"list": 200, "detail": 200, **{form: 303 for form in FORMS}}
HANDLER = {**WORKER, "melding-toewijzen": 403, "melding-doorverwijzen": 403}  # coordinators only
HIDDEN = {"list": 200, "detail": 404, **{form: 404 for form in FORMS}}  # the list opens but lacks the report
EXPECTED: dict[str, dict[str, int]] = {
    "": {"list": 303, "detail": 303, **{form: 401 for form in FORMS}},
    "beheerder": {action: 403 for action in ACTIONS},
    "coord-a": WORKER,
    "coord-b": HIDDEN,
    "handler-actor": HANDLER,
    "handler-assigned": HANDLER,
    "handler-other": HIDDEN,
}
SEES_REPORT = {"coord-a", "handler-actor", "handler-assigned"}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("username", list(EXPECTED))
def test_permission_matrix(client: TestClient, sessions: sessionmaker[Session], keys: Keys, username: str,
                           action: str) -> None:
    users = create_users(sessions)
    case: Submitted = make_case(sessions, keys, users)
    if username:
        login_as(client, username)
    before = state(sessions, case.reference)
    if action == "list":
        response = client.get("/beheer/meldingen", follow_redirects=False)
    elif action == "detail":
        response = client.get(f"/beheer/meldingen/{case.reference}", follow_redirects=False)
    else:
        suffix, fields = FORMS[action]
        if action == "melding-toewijzen":
            fields = {"behandelaar": str(users["coord-a"])}
        data = {"csrf": csrf_for(client, sessions, action) if username else "geen", **fields}
        response = client.post(f"/beheer/meldingen/{case.reference}/{suffix}", data=data, follow_redirects=False)

    assert response.status_code == EXPECTED[username][action], response.text[-600:]
    if response.status_code == 303 and action in ("list", "detail"):
        assert response.headers["location"].startswith("/beheer/aanmelden?volgende=/beheer/meldingen")
    if action == "list" and response.status_code == 200:
        assert (case.reference in response.text) == (username in SEES_REPORT)
    if response.status_code != 303 or action in ("list", "detail"):
        assert state(sessions, case.reference) == before, "a refused request changed the report"
    else:
        assert state(sessions, case.reference) != before, "an accepted change did nothing"


def test_organisation_b_never_reaches_organisation_a(client: TestClient, sessions: sessionmaker[Session],
                                                      keys: Keys) -> None:
    users = create_users(sessions)
    case = make_case(sessions, keys, users)
    login_as(client, "coord-b")
    for query in ("", "?status=nieuw", "?onderwerp=fraude_corruptie", "?actor=audit_vlaanderen", "?sorteer=datum"):
        listing = client.get(f"/beheer/meldingen{query}")
        assert listing.status_code == 200 and case.reference not in listing.text
        assert "0 meldingen" in listing.text
    assert client.get(f"/beheer/meldingen/{case.reference}").status_code == 404
    before = state(sessions, case.reference)
    for form in FORMS:
        assert post_form(client, sessions, case.reference, form).status_code == 404
    assert state(sessions, case.reference) == before
