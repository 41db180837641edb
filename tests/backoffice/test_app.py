"""App-level behaviour: error pages, security headers, form parsing limits, settings and the form secret."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backoffice.app import create_app
from backoffice.settings import SECRET_FILE, Settings
from tests.backoffice.conftest import Keys, csrf


def test_security_headers_on_pages_errors_and_static_files(client: TestClient) -> None:
    for path in ("/opvolgen", "/bestaat-niet", "/static/style.css"):
        response = client.get(path)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/opvolgen").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/style.css").headers.get("cache-control", "")


def test_no_api_docs_are_exposed(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


def test_404_page_is_dutch_without_stack_trace(client: TestClient) -> None:
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Pagina niet gevonden" in response.text
    assert '<html lang="nl">' in response.text
    assert "Traceback" not in response.text and "Not Found" not in response.text


def test_405_page_is_dutch_and_keeps_allow(client: TestClient) -> None:
    response = client.get("/opvolgen/bericht")
    assert response.status_code == 405
    assert "Dat kan hier niet" in response.text
    assert response.headers["allow"] == "POST"


def test_422_and_500_pages_are_dutch_without_details(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    secret = "geheime tekst 4711"

    @app.get("/test-422")
    def needs_number(aantal: int) -> str:
        return str(aantal)

    @app.get("/test-500")
    def fails() -> str:
        raise RuntimeError(f"bug while handling {secret}")

    caplog.set_level(logging.INFO)
    with TestClient(app, raise_server_exceptions=False) as client:
        invalid = client.get("/test-422", params={"aantal": secret})
        assert invalid.status_code == 422
        assert "Dat begrijpen we niet" in invalid.text
        assert secret not in invalid.text and "aantal" not in invalid.text

        broken = client.get("/test-500")
        assert broken.status_code == 500
        assert "Er ging iets mis" in broken.text
        assert "Traceback" not in broken.text and "RuntimeError" not in broken.text and secret not in broken.text
        assert broken.headers["x-frame-options"] == "DENY"
        assert "set-cookie" not in broken.headers

    assert "Unhandled builtins.RuntimeError in GET /test-500" in caplog.text
    assert "in fails" in caplog.text  # the stack frames are logged
    assert "query.aantal" in caplog.text
    assert secret not in caplog.text


def test_form_parsing_limits(client: TestClient, app: FastAPI) -> None:
    token = csrf(client)
    too_big = client.post("/opvolgen", data={"csrf": token, "code": "1" * (app.state.settings.max_form_bytes + 1)})
    assert too_big.status_code == 413
    assert "te lang" in too_big.text
    as_json = client.post("/opvolgen", json={"csrf": token, "code": "1"})
    assert as_json.status_code == 415
    twice = client.post("/opvolgen", content=f"csrf={token}&code=1&code=2",
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert twice.status_code == 400
    bad_utf8 = client.post("/opvolgen", content=f"csrf={token}&code=%FF%FE",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert bad_utf8.status_code == 400
    assert "We konden het formulier niet lezen" in bad_utf8.text


def test_overlong_code_is_refused_without_calling_the_service(client: TestClient) -> None:
    response = client.post("/opvolgen", data={"csrf": csrf(client), "code": "1" * 65})
    assert response.status_code == 400
    assert "Deze code kennen we niet" in response.text


def test_form_secret_is_generated_once_with_mode_0600(backoffice_env: Path) -> None:
    first = Settings.from_env()
    path = backoffice_env / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32 and first.secret == path.read_bytes()
    assert Settings.from_env().secret == first.secret
    assert "secret=" not in repr(first)


def test_configured_secret_is_used_and_must_be_long(backoffice_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKOFFICE_SECRET", "k" * 40)
    assert Settings.from_env().secret == b"k" * 40
    assert not (backoffice_env / SECRET_FILE).exists()
    monkeypatch.setenv("BACKOFFICE_SECRET", "te kort")
    with pytest.raises(ValueError, match="too short"):
        Settings.from_env()


def test_damaged_secret_file_is_an_error(backoffice_env: Path) -> None:
    backoffice_env.mkdir(parents=True)
    (backoffice_env / SECRET_FILE).write_bytes(b"short")
    with pytest.raises(RuntimeError, match="not a back office secret"):
        Settings.from_env()


def test_key_dir_must_match_the_environment(keys: Keys, tmp_path: Path) -> None:
    settings = Settings.from_env()
    with pytest.raises(RuntimeError, match="INTEGRITY_KEY_DIR"):
        create_app(Settings(settings.database_url, tmp_path / "elders", settings.secret))


def test_main_parses_arguments(monkeypatch: pytest.MonkeyPatch, keys: Keys) -> None:
    import backoffice.__main__ as entry

    calls = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **kwargs: calls.update(app=app, **kwargs))
    assert entry.main(["--host", "127.0.0.1", "--port", "8123"]) == 0
    assert isinstance(calls["app"], FastAPI)
    assert (calls["host"], calls["port"], calls["access_log"]) == ("127.0.0.1", 8123, False)
