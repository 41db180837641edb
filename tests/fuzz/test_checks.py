"""The fuzzing oracle itself: `response_problems` and `Snapshot` must catch what they are meant to catch."""

from __future__ import annotations

import httpx
from sqlalchemy import insert

from integrity.reports.deadlines import utcnow
from integrity.staff.models import AuditEntry
from tests.fuzz.checks import Allowed, Snapshot, response_problems
from tests.fuzz.world import World

HEADERS = {"content-security-policy": "default-src 'self'", "x-frame-options": "DENY",
           "referrer-policy": "no-referrer", "x-content-type-options": "nosniff", "cache-control": "no-store",
           "content-type": "text/html; charset=utf-8"}


def fake(status: int, body: str, headers: dict[str, str] | None = None, path: str = "/opvolgen") -> httpx.Response:
    return httpx.Response(status, text=body, headers=HEADERS if headers is None else headers,
                          request=httpx.Request("GET", f"http://testserver{path}"))


def test_the_apps_own_error_page_passes(world: World) -> None:
    response = world.send("GET", "/bestaat-niet")
    assert response.status_code == 404
    assert response_problems(response) == []


def test_server_errors_tracebacks_and_english_defaults_are_caught() -> None:
    crash = fake(500, 'Traceback (most recent call last):\n  File "/app/x.py", line 3\nKeyError: 1')
    problems = " ".join(response_problems(crash))
    assert "server error 500" in problems and "Traceback" in problems and "KeyError" in problems
    english = fake(404, '{"detail":"Not Found"}', {**HEADERS, "content-type": "application/json"})
    assert any("detail" in p for p in response_problems(english))
    assert any("JSON error response" in p for p in response_problems(english))
    assert response_problems(fake(404, "<html><body>Foutcode 404</body></html>"))  # not a Dutch page of the app


def test_echoed_input_is_not_a_leak_but_a_missing_header_is() -> None:
    page = '<html lang="nl"><div role="alert">ValueError is geen code</div></html>'
    assert response_problems(fake(400, page), sent="ValueError") == []
    assert any("ValueError" in p for p in response_problems(fake(400, page)))
    without = {k: v for k, v in HEADERS.items() if k != "x-frame-options"}
    assert any("x-frame-options" in p for p in response_problems(fake(200, "<html></html>", without)))


def test_off_site_redirects_and_foreign_cookies_are_caught() -> None:
    for location in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert response_problems(fake(303, "", {**HEADERS, "location": location}))
    assert response_problems(fake(303, "", {**HEADERS, "location": "/beheer/meldingen"})) == []
    # Starlette's trailing-slash redirect names the request's own host
    assert response_problems(fake(307, "", {**HEADERS, "location": "http://testserver/beheer"})) == []
    cookie = {**HEADERS, "set-cookie": "tracker=1; Path=/"}
    assert response_problems(fake(200, "<html></html>", cookie))


def test_snapshot_sees_a_stored_row_unless_allowed(world: World) -> None:
    before = Snapshot.take(world.engine, world.tables)
    with world.engine.begin() as connection:
        connection.execute(insert(AuditEntry).values(at=utcnow(), username="fuzz", action="login_failed", detail=""))
    after = Snapshot.take(world.engine, world.tables)
    assert before.differences(after) == ["audit entry 'login_failed' added"]
    assert before.differences(after, Allowed(audit_actions=frozenset({"login_failed"}))) == []
