"""`python -m integrity.staff`: account commands against a real (migrated) database, audited as the CLI user."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from integrity.staff import accounts, sessions
from integrity.staff.__main__ import main
from integrity.staff.models import AuditEntry, StaffSession

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the store itself is tested on both in test_staff_store


@pytest.fixture
def cli_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_account_life_cycle(cli_db: Engine, session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "create-user", "an.peeters", "--role", "coordinator", "--profile",
                       "vlaamse-overheid", "--name", "An Peeters", "--generate")
    assert code == 0 and "Password (shown once): " in out
    password = out.split("Password (shown once): ")[1].strip()
    user = accounts.authenticate(session, "an.peeters", password)
    sessions.start(session, user, second_factor_done=True)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(accounts.AccountError):
            accounts.authenticate(session, "an.peeters", "fout fout fout")
    session.commit()
    assert run(capsys, "unlock", "an.peeters")[0] == 0
    session.expire_all()
    assert accounts.authenticate(session, "an.peeters", password)
    session.commit()
    assert "an.peeters" in run(capsys, "list")[1]
    assert run(capsys, "reset-totp", "an.peeters")[0] == 0
    session.expire_all()
    assert session.scalar(select(StaffSession.id)) is None  # the second-factor reset logs them out
    sessions.start(session, user, second_factor_done=True)
    session.commit()
    assert run(capsys, "deactivate", "an.peeters")[0] == 0
    session.expire_all()
    assert session.scalar(select(StaffSession.id)) is None
    with pytest.raises(accounts.LoginFailed):
        accounts.authenticate(session, "an.peeters", password)
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["user_created", "user_changed", "totp_disabled", "user_changed"]
    assert all(name.startswith("cli:") for name in session.scalars(select(AuditEntry.username)))


def test_errors_are_english_and_exit_1(cli_db: Engine, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "unlock", "niemand")
    assert code == 1 and "no account 'niemand'" in err
    monkeypatch.setenv("INTEGRITY_STAFF_PASSWORD", "kort")
    code, _, err = run(capsys, "create-user", "kort", "--role", "handler", "--profile", "vlaamse-overheid")
    assert code == 1 and "password shorter than 12" in err
    code, _, err = run(capsys, "create-user", "zonder", "--role", "coordinator", "--generate")
    assert code == 1 and "need an organisation profile" in err


def test_e_mail_address_and_notification_preference(cli_db: Engine, session: Session,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from integrity.staff.models import NotifyMode

    code, _, _ = run(capsys, "create-user", "els.maes", "--role", "handler", "--profile", "vlaamse-overheid",
                     "--actor", "audit_vlaanderen", "--email", "els.maes@org.test", "--generate")
    assert code == 0
    user = accounts.get_user(session, "els.maes")
    assert user is not None and (user.email, user.notify_mode) == ("els.maes@org.test", NotifyMode.IMMEDIATE)
    session.commit()
    code, _, err = run(capsys, "set-email", "els.maes", "geen adres")
    assert code == 1 and "invalid e-mail address" in err
    assert run(capsys, "set-notify", "els.maes", "daily")[0] == 0
    assert run(capsys, "set-email", "els.maes", "")[0] == 0
    session.expire_all()
    user = accounts.get_user(session, "els.maes")
    assert user is not None and (user.email, user.notify_mode) == (None, NotifyMode.DAILY)
    session.commit()
    assert "daily" in run(capsys, "list")[1]
    details = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user_changed")))
    assert any("notification mails set to 'daily'" in detail for detail in details)
