"""The reporter's follow-up page: code entry, status and report, messages both ways, throttling, tokens."""

from __future__ import annotations

import ast
import html
import logging
import secrets
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.app import MONTHS
from backoffice.routes import followup
from integrity.reports import casework, deadlines, receipts, reporter, validation
from integrity.reports.models import Author, FollowUpAttempt, ReportMessage, ReportStatus
from tests.backoffice.conftest import (
    PEOPLE,
    WHAT_HAPPENED,
    Keys,
    Submitted,
    csrf,
    enter_code,
    hidden,
    send_message,
    submit,
)

UNKNOWN = "Deze code kennen we niet. Controleer de cijfers."
FORM_EXPIRED = "Dit formulier is verlopen of ongeldig"
ACCESS_EXPIRED = "Je bericht is niet verstuurd"
ADDED = "Je bericht is toegevoegd aan je melding."
WRONG_CODE = "1111 2222 3333 4444"


def dutch_date(moment: object) -> str:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo("Europe/Brussels"))  # type: ignore[attr-defined]
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}"


def message_count(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return int(session.scalar(select(func.count(ReportMessage.id))) or 0)


def attempt_count(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return int(session.scalar(select(func.count(FollowUpAttempt.id))) or 0)


def assert_no_code(page: str, submitted: Submitted) -> None:
    assert submitted.code not in page
    assert submitted.digits not in page


# --- the code form ---------------------------------------------------------------------------------------------


def test_get_form_asks_the_code_in_dutch(client: TestClient) -> None:
    response = client.get("/opvolgen")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="nl">' in page
    assert "Je melding opvolgen" in page
    assert "ontvangstcode" in page.lower() and "16 cijfers" in page
    assert '<label for="code">Ontvangstcode</label>' in page
    assert 'id="code" name="code" type="text" inputmode="numeric" autocomplete="off"' in page
    assert hidden(page, "csrf").startswith("c1.")
    assert "<script" not in page


def test_right_code_shows_status_deadlines_and_report(client: TestClient, submitted: Submitted) -> None:
    response = enter_code(client, submitted.code)
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert f"Je melding {submitted.reference}" in page
    assert "Nieuw" in page and "nog niet bevestigd" in page
    assert f"Ontvangstbevestiging</dt>\n        <dd>uiterlijk {dutch_date(submitted.ack_due)}" in page
    assert f"Feedback</dt>\n        <dd>uiterlijk {dutch_date(submitted.feedback_due)}" in page
    assert WHAT_HAPPENED in page and PEOPLE in page and "sinds maart" in page
    assert "Fraude en corruptie" in page  # topic label from integrity/content/topics.yml
    assert "(niet ingevuld)" in page  # no evidence given
    assert "Er zijn nog geen berichten." in page
    assert hidden(response.text, "toegang").startswith("r1.")
    assert_no_code(response.text, submitted)


def test_code_without_spaces_or_with_dashes_works(client: TestClient, submitted: Submitted) -> None:
    digits = submitted.digits
    for variant in (digits, "-".join(digits[i:i + 4] for i in range(0, 16, 4))):
        response = enter_code(client, variant)
        assert response.status_code == 200
        assert submitted.reference in response.text


def test_wrong_code_gives_dutch_message_and_the_form_again(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session]
) -> None:
    response = enter_code(client, WRONG_CODE)
    assert response.status_code == 400
    assert UNKNOWN in response.text
    assert 'aria-invalid="true"' in response.text
    assert WRONG_CODE not in response.text and WRONG_CODE.replace(" ", "") not in response.text
    assert submitted.reference not in response.text
    assert attempt_count(sessions) == 1


def test_malformed_code_takes_the_same_path_as_a_wrong_code(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session]
) -> None:
    """Same answer, and the service was called (its constant work ran and the failure was recorded)."""
    wrong = enter_code(client, WRONG_CODE)
    malformed = enter_code(client, "12ab")
    assert (wrong.status_code, malformed.status_code) == (400, 400)
    assert wrong.text.replace(hidden(wrong.text, "csrf"), "") == malformed.text.replace(hidden(malformed.text, "csrf"),
                                                                                        "")
    assert attempt_count(sessions) == 2


def test_empty_code_asks_for_it(client: TestClient, sessions: sessionmaker[Session]) -> None:
    response = enter_code(client, "   ")
    assert response.status_code == 400
    assert "Vul je ontvangstcode in" in response.text
    assert attempt_count(sessions) == 0


def test_sixth_wrong_attempt_is_throttled(client: TestClient, submitted: Submitted,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = deadlines.utcnow()
    monkeypatch.setattr(reporter, "utcnow", lambda: frozen)
    for _ in range(reporter.FOLLOW_UP_MAX_FAILURES):
        assert enter_code(client, WRONG_CODE).status_code == 400
    response = enter_code(client, WRONG_CODE)
    assert response.status_code == 429
    # The window is ten minutes from the first failure, at this same instant: 600 s, plus one for the rounding.
    assert response.headers["retry-after"] == "601"
    assert "Te veel mislukte pogingen. Probeer het over 11 minuten opnieuw." in response.text
    assert 'name="code"' in response.text
    # While throttled, even the right code is refused (no oracle for guessing).
    assert enter_code(client, submitted.code).status_code == 429


# --- messages --------------------------------------------------------------------------------------------------


def test_backoffice_reply_is_visible(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session], keys: Keys
) -> None:
    with sessions.begin() as session:
        casework.reply_to_reporter(session, submitted.report_id, "Dank je. Heb je de factuurnummers?", keys.private)
    page = html.unescape(enter_code(client, submitted.code).text)
    assert "Integriteitsteam" in page
    assert "Dank je. Heb je de factuurnummers?" in page
    assert '<span class="badge">nieuw</span>' in page
    assert "Ontvangen" in page and "bevestigd op" in page  # a reply acknowledges the report
    # Seen once: no longer new.
    assert '<span class="badge">nieuw</span>' not in enter_code(client, submitted.code).text


def test_add_message_is_stored_and_visible_to_the_back_office(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session], keys: Keys
) -> None:
    with sessions.begin() as session:
        casework.reply_to_reporter(session, submitted.report_id, "Heb je de factuurnummers?", keys.private)
    view = enter_code(client, submitted.code)
    response = send_message(client, view, "Factuur 2024-0117 en 2024-0118.\r\nBeide op 3 april.")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert ADDED in page
    assert "Factuur 2024-0117 en 2024-0118.\nBeide op 3 april." in page
    assert page.index("Heb je de factuurnummers?") < page.index("Factuur 2024-0117")  # in order
    assert 'name="bericht"' in page and "Factuur" not in page.split('name="bericht"', 1)[1].split("</textarea>")[0]
    assert_no_code(response.text, submitted)

    with sessions.begin() as session:
        detail = casework.read_report(session, submitted.report_id, keys.private)
    assert [(m.author, m.text) for m in detail.messages] == [
        (Author.BACKOFFICE, "Heb je de factuurnummers?"),
        (Author.REPORTER, "Factuur 2024-0117 en 2024-0118.\nBeide op 3 april."),
    ]
    # The reporter's copy opens with the receipt code, as through the chat.
    with sessions.begin() as session:
        seen = reporter.follow_up(session, submitted.code, "chat-user")
    assert seen.messages[-1].text == "Factuur 2024-0117 en 2024-0118.\nBeide op 3 april."

    # The same page can send a second message while the token is valid.
    again = send_message(client, response, "Nog een aanvulling.")
    assert again.status_code == 200 and "Nog een aanvulling." in again.text
    assert message_count(sessions) == 3


@pytest.mark.parametrize(("text", "expected"), [
    ("", "Schrijf eerst je bericht."),
    ("   \r\n  ", "Schrijf eerst je bericht."),
    ("x" * (validation.MESSAGE_MAX + 1), f"maximaal {validation.MESSAGE_MAX} tekens (nu {validation.MESSAGE_MAX + 1})"),
    ("Factuur\x00 2024\x1b[31m", "onzichtbare stuurtekens"),
])
def test_bad_message_input_stores_nothing(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session], text: str, expected: str
) -> None:
    response = send_message(client, enter_code(client, submitted.code), text)
    assert response.status_code == 422
    assert expected in response.text
    assert 'aria-invalid="true"' in response.text
    assert "\x00" not in response.text and "\x1b" not in response.text
    assert message_count(sessions) == 0


def test_control_characters_are_removed_from_the_draft_shown_again(
    client: TestClient, submitted: Submitted
) -> None:
    response = send_message(client, enter_code(client, submitted.code), "Factuur\x07 2024")
    assert ">Factuur 2024</textarea>" in response.text


def test_script_stays_text(
    client: TestClient, sessions: sessionmaker[Session], keys: Keys
) -> None:
    evil = "<script>alert('x')</script>"
    report = submit(sessions, keys, what_happened=f"Zie {evil}", people_involved='"><img src=x onerror=alert(1)>')
    with sessions.begin() as session:
        casework.reply_to_reporter(session, report.report_id, f"Antwoord {evil}", keys.private)
    view = enter_code(client, report.code)
    response = send_message(client, view, f"Bericht {evil}")
    for page in (view.text, response.text):
        page = page.replace('<script src="/static/evidence.js" defer></script>', "")  # our own upload control
        assert "<script" not in page
        assert "<img" not in page
    assert "Zie &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in response.text
    assert "Antwoord &lt;script&gt;" in response.text
    assert "Bericht &lt;script&gt;" in response.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in response.text


def test_closed_report_shows_no_form_and_refuses_messages(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session]
) -> None:
    view = enter_code(client, submitted.code)
    with sessions.begin() as session:
        casework.change_status(session, submitted.report_id, ReportStatus.AFGESLOTEN, "Onderzocht en afgerond.")
    response = send_message(client, view, "Nog iets")
    assert response.status_code == 409
    assert "Deze melding is afgesloten" in response.text
    assert 'name="bericht"' not in response.text
    assert message_count(sessions) == 0
    page = enter_code(client, submitted.code).text
    assert "Afgesloten" in page and "Afgesloten op" in page and 'name="bericht"' not in page


# --- report token ----------------------------------------------------------------------------------------------


def test_expired_report_token_asks_the_code_again(
    client: TestClient, app: FastAPI, submitted: Submitted, sessions: sessionmaker[Session]
) -> None:
    view = enter_code(client, submitted.code)
    later = time.time() + 15 * 60 + 5  # the CSRF token (1 hour) is still valid
    app.state.tokens.clock = lambda: later
    response = send_message(client, view, "Te laat verstuurd")
    assert response.status_code == 400
    assert ACCESS_EXPIRED in response.text
    assert 'name="code"' in response.text
    assert ">Te laat verstuurd</textarea>" in response.text  # shown for copying, not stored
    assert message_count(sessions) == 0


@pytest.mark.parametrize("mangle", ["forged", "missing", "other report"])
def test_forged_or_missing_report_token_is_refused(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session], keys: Keys, mangle: str
) -> None:
    view = enter_code(client, submitted.code)
    token = hidden(view.text, "toegang")
    if mangle == "forged":
        head, issued, box, mac = token.split(".")
        token = f"{head}.{int(issued) + 600}.{box}.{mac}"  # extend the lifetime
    elif mangle == "missing":
        token = ""
    else:  # a valid token for another report, with this report's box: the MAC covers the box
        other = enter_code(client, submit(sessions, keys).code)
        token = ".".join(hidden(other.text, "toegang").split(".")[:2] + token.split(".")[2:3]
                         + hidden(other.text, "toegang").split(".")[3:])
    response = client.post("/opvolgen/bericht", data={"csrf": hidden(view.text, "csrf"), "toegang": token,
                                                      "bericht": "Aanvulling"})
    assert response.status_code == 400
    assert ACCESS_EXPIRED in response.text
    assert message_count(sessions) == 0


def test_report_token_with_a_key_that_does_not_open_the_report_is_refused(
    client: TestClient, app: FastAPI, submitted: Submitted, sessions: sessionmaker[Session]
) -> None:
    view = enter_code(client, submitted.code)
    token = app.state.tokens.report_token(submitted.report_id, secrets.token_bytes(32))
    response = client.post("/opvolgen/bericht", data={"csrf": hidden(view.text, "csrf"), "toegang": token,
                                                      "bericht": "Aanvulling"})
    assert response.status_code == 400
    assert ACCESS_EXPIRED in response.text
    assert ">Aanvulling</textarea>" in response.text
    assert message_count(sessions) == 0


def test_right_code_costs_one_key_derivation(
    client: TestClient, submitted: Submitted, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    derive_both = receipts.derive_both

    def counting(code: str, *args: object) -> tuple[str | None, bytes]:
        calls.append(code)
        return derive_both(code, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(receipts, "derive_both", counting)
    monkeypatch.setattr(receipts, "reporter_key", lambda *_: pytest.fail("second derivation"))
    response = enter_code(client, submitted.code)
    assert response.status_code == 200 and submitted.reference in response.text
    assert len(calls) == 1
    assert send_message(client, response, "Aanvulling").status_code == 200
    assert len(calls) == 1  # the report token carries the key


def test_route_uses_only_public_service_functions() -> None:
    source = Path(followup.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    private = [node.attr for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
               and node.value.id in ("service", "crypto", "receipts") and node.attr.startswith("_")]
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("integrity.") for alias in node.names]
    assert private == []
    assert not [name for name in imported if name.startswith("_")]
    assert "ReportMessage" not in imported and "receipts" not in imported


# --- CSRF ------------------------------------------------------------------------------------------------------


def _csrf_variants(client: TestClient, app: FastAPI, form: str) -> dict[str, str]:
    good = app.state.tokens.csrf(form)
    head, issued, nonce, mac = good.split(".")
    return {
        "missing": "",
        # Change the first MAC character: the last one may carry padding bits that decoders ignore.
        "forged": f"{head}.{issued}.{nonce}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}",
        "expired": app.state.tokens.csrf(form, now=time.time() - app.state.settings.csrf_ttl - 5),
        "other form": app.state.tokens.csrf("bericht" if form == "opvolgen" else "opvolgen"),
        "garbage": "c1.x.y.z",
    }


@pytest.mark.parametrize("variant", ["missing", "forged", "expired", "other form", "garbage"])
def test_code_form_without_valid_csrf_token_is_refused(
    client: TestClient, app: FastAPI, submitted: Submitted, sessions: sessionmaker[Session], variant: str
) -> None:
    token = _csrf_variants(client, app, "opvolgen")[variant]
    response = client.post("/opvolgen", data={"csrf": token, "code": submitted.code})
    assert response.status_code == 400
    assert FORM_EXPIRED in response.text
    assert submitted.reference not in response.text
    assert attempt_count(sessions) == 0


@pytest.mark.parametrize("variant", ["missing", "forged", "expired", "other form", "garbage"])
def test_message_form_without_valid_csrf_token_is_refused(
    client: TestClient, app: FastAPI, submitted: Submitted, sessions: sessionmaker[Session], variant: str
) -> None:
    view = enter_code(client, submitted.code)
    token = _csrf_variants(client, app, "bericht")[variant]
    response = client.post("/opvolgen/bericht", data={"csrf": token, "toegang": hidden(view.text, "toegang"),
                                                      "bericht": "Aanvulling"})
    assert response.status_code == 400
    assert FORM_EXPIRED in response.text
    assert message_count(sessions) == 0


def test_cross_site_post_is_refused_even_with_a_token(client: TestClient, submitted: Submitted) -> None:
    response = enter_code(client, submitted.code, **{"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400
    assert FORM_EXPIRED in response.text
    assert enter_code(client, submitted.code, **{"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_csrf_token_still_valid_before_expiry(client: TestClient, app: FastAPI, submitted: Submitted) -> None:
    token = app.state.tokens.csrf("opvolgen", now=time.time() - app.state.settings.csrf_ttl + 30)
    assert client.post("/opvolgen", data={"csrf": token, "code": submitted.code}).status_code == 200


# --- privacy ---------------------------------------------------------------------------------------------------


def test_no_page_sets_a_cookie(client: TestClient, submitted: Submitted) -> None:
    responses = [client.get("/opvolgen"), enter_code(client, WRONG_CODE), enter_code(client, submitted.code)]
    responses.append(send_message(client, responses[-1], "Aanvulling"))
    responses += [client.get("/bestaat-niet"), client.get("/static/style.css"),
                  client.post("/opvolgen", data={"code": "1"})]
    for response in responses:
        assert "set-cookie" not in response.headers
    assert not client.cookies


def test_logs_hold_no_codes_texts_or_addresses(
    client: TestClient, submitted: Submitted, sessions: sessionmaker[Session], keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_message = "Geheime aanvulling: kluis 4711"
    with sessions.begin() as session:
        casework.reply_to_reporter(session, submitted.report_id, "Antwoord van het team", keys.private)
    enter_code(client, WRONG_CODE)
    enter_code(client, "12ab")
    view = enter_code(client, submitted.code)
    send_message(client, view, secret_message)
    send_message(client, view, "")
    client.post("/opvolgen", data={"csrf": "c1.1.x.y", "code": submitted.code})
    client.post("/opvolgen/bericht", data={"csrf": csrf(client), "toegang": "r1.1.x.y", "bericht": secret_message})
    client.get(f"/opvolgen/{submitted.digits}")  # a code typed into the address bar

    # httpx is the test's own client logging its request lines (the server side's access log is off by default).
    server_records = [record for record in caplog.records if not record.name.startswith("httpx")]
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in server_records)
    assert "Follow-up: report shown" in logged and "unknown receipt code" in logged  # there is logging
    for secret in (submitted.code, submitted.digits, WRONG_CODE, WRONG_CODE.replace(" ", ""), "12ab",
                   WHAT_HAPPENED, PEOPLE, secret_message, "kluis 4711", "Antwoord van het team", "testclient"):
        assert secret not in logged, secret
