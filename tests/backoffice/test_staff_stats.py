"""Figures for coordinators: /beheer/statistieken (page and CSV export) and /beheer/gesprekken.

Real app, real SQLite database; reports stored through the service layer as the chat does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.routes import staff_stats
from backoffice.routes.staff_stats import csv_safe, date_label
from integrity.reports import casework
from integrity.reports.models import Report
from integrity.staff import accounts, analytics
from integrity.staff.models import AuditEntry, Role
from tests.backoffice.conftest import Keys, check_response, hidden, submit

PASSWORD = "een lang wachtwoord 42"
ORG_A, ORG_B = "vlaamse-overheid", "federale-politie"
USERS = {
    "beheer": (Role.ADMIN, None, None),
    "coord-a": (Role.COORDINATOR, ORG_A, None),
    "behandel-a": (Role.HANDLER, ORG_A, "audit_vlaanderen"),
    "coord-b": (Role.COORDINATOR, ORG_B, None),
}
PAGES = ("/beheer/statistieken", "/beheer/statistieken/export.csv", "/beheer/gesprekken")


@pytest.fixture
def users(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for name, (role, profile, actor) in USERS.items():
            accounts.create_user(session, name, name.title(), role, PASSWORD, profile_id=profile, actor=actor)


@pytest.fixture
def as_user(app: FastAPI, users: None) -> Iterator[dict[str, TestClient]]:
    made: list[TestClient] = []

    class Clients(dict[str, TestClient]):
        def __missing__(self, name: str) -> TestClient:
            client = TestClient(app, raise_server_exceptions=False)
            client.event_hooks = {"request": [], "response": [check_response]}
            page = client.get("/beheer/aanmelden")
            assert client.post("/beheer/aanmelden", data={"csrf": hidden(page.text, "csrf"), "gebruiker": name,
                                                          "wachtwoord": PASSWORD, "volgende": ""},
                               follow_redirects=False).status_code == 303
            made.append(client)
            self[name] = client
            return client

    yield Clients()
    for client in made:
        client.close()


@pytest.fixture
def reports(sessions: sessionmaker[Session], keys: Keys) -> None:
    """Organisation A: 6 fraud reports to Audit Vlaanderen (5 acknowledged) and 2 on bullying; B: 7 on bullying."""
    for number in range(6):
        stored = submit(sessions, keys, category="fraude_corruptie", preferred_route="audit_vlaanderen")
        if number < 5:
            with sessions.begin() as session:
                casework.acknowledge(session, stored.report_id)
    for _ in range(2):
        submit(sessions, keys, category="pesten", preferred_route="vertrouwenspersoon")
    for _ in range(7):
        submit(sessions, keys, category="pesten", profile_id=ORG_B, preferred_route=None)


def rows(response_text: str) -> dict[tuple[str, str], str]:
    table = list(csv.reader(io.StringIO(response_text)))
    assert table[0] == ["onderdeel", "sleutel", "omschrijving", "waarde"]
    return {(row[0], row[1]): row[3] for row in table[1:]}


# --- permissions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_figures_are_for_coordinators_only(path: str, client: TestClient, as_user: dict[str, TestClient]) -> None:
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and "/beheer/aanmelden" in anonymous.headers["location"]
    for name in ("beheer", "behandel-a"):
        refused = as_user[name].get(path)
        assert refused.status_code == 403 and "geen toegang" in refused.text
    assert as_user["coord-a"].get(path).status_code == 200


def test_no_figure_page_accepts_a_post(as_user: dict[str, TestClient]) -> None:
    for path in PAGES:
        assert as_user["coord-a"].post(path, data={"csrf": "x"}).status_code == 405


# --- statistics page -------------------------------------------------------------------------------------------


def test_page_shows_own_organisation_with_small_cells_suppressed(as_user: dict[str, TestClient],
                                                                 reports: None) -> None:
    page = as_user["coord-a"].get("/beheer/statistieken")
    assert page.status_code == 200
    text = page.text
    assert '<link rel="stylesheet" href="/static/stats.css">' in text
    assert "<dt>Meldingen</dt><dd>8</dd>" in text
    # 2 reports on bullying: suppressed; and the 6 on fraud too, or 8 - 6 would give the 2 away.
    assert "<th scope=\"row\">Fraude en corruptie</th><td class=\"number\">verborgen</td>" in text
    assert "<th scope=\"row\">Pesten</th><td class=\"number\">&lt;5</td>" in text
    # 3 still "nieuw" (suppressed): 5 acknowledged of 8 would give them away.
    assert "<dt>Ontvangst bevestigd</dt><dd>verborgen</dd>" in text
    assert "Gemiddeld tot ontvangstbevestiging</dt><dd>0,0 dagen" in text
    assert "Gemiddeld tot afsluiting</dt><dd>niet getoond" in text
    assert 'role="img"' in text
    assert 'aria-label="Meldingen per onderwerp: Fraude en corruptie verborgen; Pesten &lt;5"' in text
    # The chart is plain SVG: the only scripts are the idle-logout warning and kept text of every staff page.
    assert "<rect" in text and text.count("<script") == 2 and '<script src="/static/session.js">' in text
    assert "style=" not in text
    assert "Audit Vlaanderen" in text
    other = as_user["coord-b"].get("/beheer/statistieken").text
    assert "<dt>Meldingen</dt><dd>7</dd>" in other and "Fraude en corruptie" not in other


def test_period_choice_and_bad_periods(as_user: dict[str, TestClient], reports: None) -> None:
    coordinator = as_user["coord-a"]
    last_year = coordinator.get("/beheer/statistieken", params={"van": "2020-01-01", "tot": "2020-12-31"})
    assert last_year.status_code == 200 and "<dt>Meldingen</dt><dd>0</dd>" in last_year.text
    assert "december 2020" in last_year.text
    for params, message in (({"van": "gisteren", "tot": "2020-01-01"}, "Vul de datums in"),
                            ({"van": "2020-02-01", "tot": "2020-01-01"}, "De begindatum ligt na de einddatum"),
                            ({"van": "2000-01-01", "tot": "2020-01-01"}, "hoogstens 36 maanden")):
        refused = coordinator.get("/beheer/statistieken", params=params)
        assert refused.status_code == 400 and message in refused.text
        assert "<dt>Meldingen</dt><dd>8</dd>" in refused.text  # the default period instead


# --- CSV export ------------------------------------------------------------------------------------------------


def test_export_suppresses_small_counts_and_is_audited(as_user: dict[str, TestClient], reports: None,
                                                       sessions: sessionmaker[Session]) -> None:
    response = as_user["coord-a"].get("/beheer/statistieken/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="statistieken-vlaamse-overheid-')
    assert response.headers["cache-control"] == "no-store"
    figures = rows(response.text)
    assert figures[("totaal", "meldingen")] == "8"
    assert figures[("categorie", "fraude_corruptie")] == "verborgen"
    assert figures[("categorie", "pesten")] == "<5"
    assert figures[("actor", "audit_vlaanderen")] == "verborgen" and figures[("actor", "vertrouwenspersoon")] == "<5"
    assert figures[("status", "ontvangen")] == "verborgen" and figures[("status", "nieuw")] == "<5"
    assert figures[("termijn", "ontvangst_bevestigd")] == "verborgen"
    assert figures[("termijn", "ontvangst_binnen_7_dagen")] == "verborgen"
    assert figures[("termijn", "dagen_tot_afsluiting")] == ""
    assert not any(value in {"1", "2", "3", "4"} for value in figures.values())
    months = [key for section, key in figures if section == "maand"]
    assert len(months) == 12
    with sessions.begin() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.username == "coord-a" and entry.profile_id == ORG_A and "statistics CSV" in entry.detail
    with sessions.begin() as session:
        references = list(session.scalars(select(Report.reference)))
    assert not any(reference in response.text for reference in references)


def test_export_is_scoped_to_the_coordinators_organisation(as_user: dict[str, TestClient], reports: None) -> None:
    figures = rows(as_user["coord-b"].get("/beheer/statistieken/export.csv").text)
    assert figures[("totaal", "meldingen")] == "7" and ("categorie", "fraude_corruptie") not in figures
    assert figures[("actor", "")] == "7"


def test_export_of_a_chosen_period(as_user: dict[str, TestClient], reports: None) -> None:
    response = as_user["coord-a"].get("/beheer/statistieken/export.csv", params={"van": "2020-01-01",
                                                                                 "tot": "2020-03-31"})
    figures = rows(response.text)
    assert figures[("periode", "van")] == "2020-01-01" and figures[("totaal", "meldingen")] == "0"
    assert [key for section, key in figures if section == "maand"] == ["2020-01", "2020-02", "2020-03"]


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tcmd", "\r=1+1"])
def test_csv_cells_cannot_start_a_formula(value: str) -> None:
    assert csv_safe(value) == "'" + value
    assert csv_safe("Fraude en corruptie") == "Fraude en corruptie" and csv_safe("<5") == "<5"


# --- conversations ---------------------------------------------------------------------------------------------


def test_conversations_page_shows_counts_of_the_own_organisation(as_user: dict[str, TestClient],
                                                                 sessions: sessionmaker[Session]) -> None:
    today = analytics.today()
    for _ in range(6):
        analytics.record(sessions, ORG_A, "topic", "geschenken")
    analytics.record(sessions, ORG_A, "topic", "pesten", day=today - timedelta(days=1))
    for _ in range(2):
        analytics.record(sessions, ORG_A, "fallback", "nevenactiviteiten")
    analytics.record(sessions, ORG_A, "emergency", "noodsituatie")
    analytics.record(sessions, ORG_A, "handover")
    for _ in range(9):
        analytics.record(sessions, ORG_B, "fallback", "")
    analytics.record(sessions, ORG_A, "topic", "discriminatie", day=today - timedelta(days=60))
    page = as_user["coord-a"].get("/beheer/gesprekken")
    assert page.status_code == 200
    text = page.text
    assert "<dt>vraag beantwoord</dt><dd>7</dd>" in text
    assert "<dt>niet begrepen</dt><dd>2</dd>" in text
    assert "<dt>noodsituatie</dt><dd>&lt;5</dd>" in text
    assert "<dt>Niet begrepen (aandeel)</dt><dd>20%</dd>" in text  # 2 of 10: emergencies are not counted
    assert "Geschenken en uitnodigingen" in text and "Discriminatie" not in text  # outside the default 30 days
    assert f"<th scope=\"row\">{date_label(today)}</th>" in text
    other = as_user["coord-b"].get("/beheer/gesprekken").text
    assert "<dt>niet begrepen</dt><dd>9</dd>" in other and "Geschenken" not in other
    longer = as_user["coord-a"].get("/beheer/gesprekken", params={"van": (today - timedelta(days=90)).isoformat(),
                                                                  "tot": today.isoformat()})
    assert "Discriminatie" in longer.text
    bad = as_user["coord-a"].get("/beheer/gesprekken", params={"van": "morgen", "tot": ""})
    assert bad.status_code == 400 and "Vul de datums in" in bad.text



def test_the_export_escapes_labels_that_a_spreadsheet_would_run(as_user: dict[str, TestClient], reports: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the export written without csv_safe, or without "\\r" among the escaped starts, failed no test.
    Labels come from content and profile files that others edit: a label that starts a formula stays text."""
    real = staff_stats._labels

    def hostile(profile_id: str) -> dict[str, dict[str, str]]:
        labels = real(profile_id)
        labels["category"] = {**labels["category"], "fraude_corruptie": '=HYPERLINK("http://x","klik")',
                              "pesten": "\r=1+1"}
        return labels

    monkeypatch.setattr(staff_stats, "_labels", hostile)
    table = list(csv.reader(io.StringIO(as_user["coord-a"].get("/beheer/statistieken/export.csv").text)))
    labels = {row[1]: row[2] for row in table[1:] if row[0] == "categorie"}
    assert labels["fraude_corruptie"] == "'=HYPERLINK(\"http://x\",\"klik\")"
    assert labels["pesten"] == "'\r=1+1"


def test_small_emergency_counts_per_day_cannot_be_worked_out_from_the_total(
        as_user: dict[str, TestClient], sessions: sessionmaker[Session]) -> None:
    """Issue 13: per-day emergencies shown exactly instead of "<5" failed no test; and with a shown total, one
    small day would be the total minus the other days."""
    today = analytics.today()
    for _ in range(2):
        analytics.record(sessions, ORG_A, "emergency", "noodsituatie")
    for _ in range(7):
        analytics.record(sessions, ORG_A, "emergency", "noodsituatie", day=today - timedelta(days=1))
    analytics.record(sessions, ORG_A, "topic", "geschenken", day=today - timedelta(days=2))
    text = as_user["coord-a"].get("/beheer/gesprekken").text
    table = text.split('id="per-dag"')[1].split('<table class="data">')[1].split("</table>")[0]
    cells = {row.split("</th>")[0].rsplit(">", 1)[1]: re.findall(r'<td class="number">([^<]*)</td>', row)
             for row in table.split("<tr>")[2:]}
    emergency = list(staff_stats.EVENT_LABELS).index("emergency")
    assert cells[date_label(today)][emergency] == "&lt;5"
    assert cells[date_label(today - timedelta(days=1))][emergency] == "verborgen", "9 - 7 would give the 2 away"
    assert cells[date_label(today - timedelta(days=2))][emergency] == "0"
    assert "<dt>noodsituatie</dt><dd>9</dd>" in text
