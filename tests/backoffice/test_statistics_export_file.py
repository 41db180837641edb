"""The statistics CSV export (backoffice/routes/staff_stats.py `export_statistics`) byte for byte: the header,
the explanation row, every label, CRLF line ends, the file name and the audit entry, for a period without reports
and for the default period after a wrong one."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.staff.models import AuditEntry
from tests.backoffice.test_staff_stats import as_user, reports, users  # noqa: F401  (fixtures)

EMPTY_FEBRUARY = (
    "onderdeel,sleutel,omschrijving,waarde\r\n"
    "periode,van,eerste dag,2020-02-01\r\n"
    "periode,tot,laatste dag,2020-02-29\r\n"
    "uitleg,kleine_aantallen,\"aantallen van 1 tot 4 staan er als <5; gemiddelden over minder dan 5 meldingen "
    "ontbreken; waar een klein aantal anders uit het totaal terug te rekenen is, staan ook andere aantallen als "
    "verborgen\",\r\n"
    "totaal,meldingen,meldingen in de periode,0\r\n"
    "maand,2020-02,februari 2020,0\r\n"
    'status,nieuw,"nieuw, nog niet bekeken",0\r\n'
    "status,ontvangen,ontvangen,0\r\n"
    "status,in_behandeling,in behandeling,0\r\n"
    "status,doorverwezen,doorverwezen,0\r\n"
    "status,afgesloten,afgesloten,0\r\n"
    "termijn,ontvangst_bevestigd,ontvangst bevestigd,0\r\n"
    "termijn,ontvangst_binnen_7_dagen,ontvangst binnen 7 dagen bevestigd,0\r\n"
    "termijn,dagen_tot_ontvangst,gemiddeld aantal dagen tot ontvangstbevestiging,\r\n"
    "termijn,afgesloten,afgesloten,0\r\n"
    "termijn,dagen_tot_afsluiting,gemiddeld aantal dagen tot afsluiting,\r\n"
)


def audit_details(sessions: sessionmaker[Session]) -> list[str]:
    with sessions.begin() as session:
        return list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "export")
                                    .order_by(AuditEntry.id)))


def test_the_export_of_an_empty_month_to_the_byte(as_user: dict[str, TestClient],  # noqa: F811
                                                  sessions: sessionmaker[Session]) -> None:
    response = as_user["coord-a"].get("/beheer/statistieken/export.csv", params={"van": "2020-02-01",
                                                                                 "tot": "2020-02-29"})
    assert response.status_code == 200
    assert response.text == EMPTY_FEBRUARY
    assert response.headers["content-disposition"] == \
        'attachment; filename="statistieken-vlaamse-overheid-2020-02-01-2020-02-29.csv"'
    assert audit_details(sessions) == ["statistics CSV for 2020-02-01..2020-02-29"]


def test_a_wrong_period_exports_the_default_one_and_says_so_in_the_audit_log(
        as_user: dict[str, TestClient], reports: None, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    response = as_user["coord-a"].get("/beheer/statistieken/export.csv", params={"van": "2020-02-02",
                                                                                 "tot": "2020-02-01"})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.text)))
    figures = {(row[0], row[1]): (row[2], row[3]) for row in table[1:]}
    start, end = figures[("periode", "van")][1], figures[("periode", "tot")][1]
    assert audit_details(sessions) == [f"statistics CSV for {start}..{end} (default period)"]
    assert figures[("totaal", "meldingen")] == ("meldingen in de periode", "8")
    assert figures[("termijn", "dagen_tot_ontvangst")] == ("gemiddeld aantal dagen tot ontvangstbevestiging", "0.0")
    # 5 of the 8 acknowledged in time would give the 3 still new (<5) away: complementary suppression hides it.
    assert figures[("termijn", "ontvangst_binnen_7_dagen")][1] == "verborgen"
    assert figures[("categorie", "fraude_corruptie")][0] == "Fraude en corruptie"
    assert all(len(row) == 4 for row in table)
