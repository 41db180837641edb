"""Per-user and per-report keys on SQLite and PostgreSQL: who can decrypt what, grants following the scope,
revocation, password change, recovery, escrow. docs/security.md cites these tests for its claims.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from nacl.public import PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from integrity.notifications.models import Kind, NotificationEvent
from integrity.reports import casework, crypto, report_keys, reporter, submission
from integrity.reports.errors import NoReaders
from integrity.reports.models import Report, ReportKeyGrant
from integrity.reports.report_keys import Reader
from integrity.staff import access, accounts, audit, cases, key_flows, user_keys
from integrity.staff.models import AuditEntry, Role, StaffUser
from tests.plugins.report_store import make_draft

PASSWORD = "een lang wachtwoord 42"
SECRET = "De diensthoofd laat de kluis van de kantine elke vrijdag leeghalen"
NOTE = "Eerst de kasboeken van maart opvragen"


def staff(session: Session, name: str, role: Role = Role.COORDINATOR, actor: str | None = None,
          profile: str = "vlaamse-overheid") -> tuple[StaffUser, PrivateKey]:
    user = accounts.create_user(session, name, name, role, PASSWORD, profile_id=profile, actor=actor)
    private = user_keys.unlock(user, PASSWORD)
    assert private is not None
    return user, private


def report_of(session: Session, reference: str) -> Report:
    found = session.scalar(select(Report).where(Report.reference == reference))
    assert found is not None
    return found


def readable(session: Session, user: StaffUser, private: PrivateKey, reference: str) -> bool:
    try:
        return casework.read_report(session, reference, Reader(user.id, private)).content["what_happened"] == SECRET
    except report_keys.NoAccess:
        return False


def all_bytes(engine: Engine) -> list[bytes]:
    """Every binary value in the database, as an operator with a copy of it would have them."""
    columns = {"reports": ["content_sealed", "reporter_key_sealed", "close_reason_sealed", "public_key",
                           "content_for_reporter"],
               "report_messages": ["body_sealed", "body_for_reporter"], "case_notes": ["body_sealed"],
               "status_changes": ["reason_sealed"], "report_key_grants": ["wrapped_key"],
               "staff_users": ["public_key", "private_key_box", "recovery_box", "escrow_box", "totp_secret_box"],
               "staff_sessions": ["key_box", "recovery_box"]}
    values: list[bytes] = []
    with engine.connect() as connection:
        for table, names in columns.items():
            for name in names:
                values += [bytes(v) for (v,) in connection.execute(text(f"SELECT {name} FROM {table}")) if v]
    return values


def test_only_staff_with_a_wrapped_key_can_decrypt_even_with_the_database_and_every_key_file(
        session: Session, engine: Engine, report_env: Path) -> None:
    reader, reader_key = staff(session, "lezer")
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    outsider, outsider_key = staff(session, "nieuwkomer")  # in scope (same organisation), but no wrapped key
    cases.add_note(session, reader, submitted.reference, NOTE)
    reporter.add_reporter_message(session, submitted.receipt_code, "Ik heb ook foto's")
    session.commit()

    report = report_of(session, submitted.reference)
    assert readable(session, reader, reader_key, submitted.reference)
    assert not readable(session, outsider, outsider_key, submitted.reference)
    with pytest.raises(report_keys.NoAccess):
        cases.open_case(session, outsider, submitted.reference, outsider_key)
    sealed = [report.content_sealed, *(m.body_sealed for m in report.messages)]
    session.commit()  # the copy is read through another connection

    # An operator with a copy of the database and of every file in the key directory, and the outsider's own
    # private key: no candidate key opens the report's content, messages or notes.
    candidates = [outsider_key, *(PrivateKey(value) for value in all_bytes(engine) if len(value) == 32)]
    for path in report_env.rglob("*"):
        data = path.read_bytes() if path.is_file() else b""
        if len(data) == 32:
            candidates.append(PrivateKey(data))
    for value in all_bytes(engine):  # wrapped keys opened with any candidate give more candidates: none opens
        for candidate in list(candidates):
            with contextlib.suppress(crypto.DecryptionError, ValueError):
                candidates.append(PrivateKey(crypto.unseal(candidate, value)))
    assert bytes(reader_key) not in {bytes(c) for c in candidates}
    for candidate in candidates:
        for ciphertext in sealed:
            with pytest.raises(crypto.DecryptionError):
                crypto.unseal(candidate, ciphertext)
    raw = b"".join(all_bytes(engine))
    assert SECRET.encode() not in raw and NOTE.encode() not in raw and bytes(reader_key) not in raw


def test_submission_wraps_for_readers_in_scope_and_refuses_when_nobody_could_read(session: Session) -> None:
    with pytest.raises(NoReaders):
        submission.submit_report(session, make_draft())
    session.rollback()
    coordinator, _ = staff(session, "coord")
    handler, _ = staff(session, "handler-audit", Role.HANDLER, actor="audit_vlaanderen")
    other_handler, _ = staff(session, "handler-vp", Role.HANDLER, actor="vertrouwenspersoon")
    police, _ = staff(session, "coord-politie", profile="federale-politie")
    submitted = submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    report = report_of(session, submitted.reference)
    assert report_keys.holders(session, report.id) == sorted([coordinator.id, handler.id])
    assert other_handler.id not in report_keys.holders(session, report.id)
    assert police.id not in report_keys.holders(session, report.id)


def test_assign_and_forward_grant_in_the_same_transaction_and_unassign_revokes(session: Session) -> None:
    coordinator, coordinator_key = staff(session, "coord")
    handler, handler_key = staff(session, "handler", Role.HANDLER)  # no actor: only what is assigned to them
    vp, vp_key = staff(session, "handler-vp", Role.HANDLER, actor="vertrouwenspersoon")
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    session.commit()
    assert not readable(session, handler, handler_key, submitted.reference)

    cases.assign(session, coordinator, submitted.reference, str(handler.id), coordinator_key)
    session.rollback()  # a failed use case: neither the assignment nor the grant
    assert not readable(session, handler, handler_key, submitted.reference)

    cases.assign(session, coordinator, submitted.reference, str(handler.id), coordinator_key)
    session.commit()
    assert readable(session, handler, handler_key, submitted.reference)
    cases.forward(session, coordinator, submitted.reference, "vertrouwenspersoon", coordinator_key)
    session.commit()
    assert readable(session, vp, vp_key, submitted.reference)
    cases.assign(session, coordinator, submitted.reference, "", coordinator_key)  # unassign: the key goes
    cases.forward(session, coordinator, submitted.reference, "audit_vlaanderen", coordinator_key)
    session.commit()
    assert not readable(session, handler, handler_key, submitted.reference)
    assert not readable(session, vp, vp_key, submitted.reference)
    assert readable(session, coordinator, coordinator_key, submitted.reference)
    logged = [(e.action, e.detail) for e in session.scalars(select(AuditEntry).where(
        AuditEntry.report_reference == submitted.reference).order_by(AuditEntry.id))]
    assert ("access_granted", "to handler") in logged and ("access_granted", "to handler-vp") in logged
    assert ("access_revoked", "from handler") in logged and ("access_revoked", "from handler-vp") in logged
    assert granted_mails(session) == {handler.id, vp.id}  # each new reader is told, in the change's transaction


def granted_mails(session: Session) -> set[int | None]:
    """The users an `access_granted` notification was queued for."""
    return set(session.scalars(select(NotificationEvent.user_id).where(NotificationEvent.kind == Kind.ACCESS_GRANTED)))


def test_assigning_without_the_key_lets_the_assignee_wait(session: Session) -> None:
    coordinator, coordinator_key = staff(session, "coord")
    handler, _ = staff(session, "handler", Role.HANDLER)
    submitted = submission.submit_report(session, make_draft())
    change_without_key = cases.assign(session, coordinator, submitted.reference, str(handler.id), None)
    assert change_without_key == handler
    session.commit()
    assert not report_keys.has_access(session, report_of(session, submitted.reference).id, handler.id)
    assert [(w.colleague.username, w.reports) for w in access.waiting(session, coordinator)] == [("handler", 1)]
    assert granted_mails(session) == set()
    assert access.grant_colleague(session, coordinator, coordinator_key, handler) == 1
    session.commit()
    assert report_keys.has_access(session, report_of(session, submitted.reference).id, handler.id)
    assert granted_mails(session) == {handler.id}
    assert access.waiting(session, coordinator) == []


def test_a_grant_never_widens_the_scope(session: Session) -> None:
    coordinator, coordinator_key = staff(session, "coord")
    submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    outsider, _ = staff(session, "handler-vp", Role.HANDLER, actor="vertrouwenspersoon")
    police, _ = staff(session, "coord-politie", profile="federale-politie")
    assert access.grant_colleague(session, coordinator, coordinator_key, outsider) == 0
    assert access.grant_colleague(session, coordinator, coordinator_key, police) == 0
    assert session.scalar(select(ReportKeyGrant).where(ReportKeyGrant.user_id.in_([outsider.id, police.id]))) is None


def test_deactivation_deletes_the_wrapped_keys(session: Session) -> None:
    staff(session, "coord")
    leaver, leaver_key = staff(session, "vertrekker")
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    assert readable(session, leaver, leaver_key, submitted.reference)
    assert accounts.set_active(session, leaver, False) == 1
    session.commit()
    assert session.scalar(select(ReportKeyGrant).where(ReportKeyGrant.user_id == leaver.id)) is None
    accounts.set_active(session, leaver, True)  # coming back restores nothing: a colleague must grant again
    assert not readable(session, leaver, leaver_key, submitted.reference)


def test_password_change_rewraps_the_same_key(session: Session) -> None:
    user, private = staff(session, "coord")
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    accounts.change_own_password(session, user, "een heel nieuw wachtwoord", private)
    session.commit()
    assert user_keys.unlock(user, PASSWORD) is None
    again = user_keys.unlock(user, "een heel nieuw wachtwoord")
    assert again is not None and bytes(again) == bytes(private)
    assert readable(session, user, again, submitted.reference)


def test_recovery_key_reopens_the_key_after_an_admin_reset(session: Session) -> None:
    user, private = staff(session, "coord")
    first = key_flows.at_login(session, user, PASSWORD)
    assert first.recovery_key is not None and first.private_key is not None
    assert key_flows.at_login(session, user, PASSWORD).recovery_key is None  # shown once
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))

    accounts.set_password(session, user, "wachtwoord van de beheerder")  # the admin does not know the old one
    session.commit()
    after_reset = key_flows.at_login(session, user, "wachtwoord van de beheerder")
    assert after_reset.awaits_recovery and after_reset.private_key is None
    with pytest.raises(user_keys.WrongRecoveryKey):
        key_flows.recover(session, user, user_keys.format_recovery_key(b"\x00" * 20), "wachtwoord van de beheerder")
    recovered, next_recovery_key = key_flows.recover(session, user, first.recovery_key.lower().replace("-", " "),
                                                     "wachtwoord van de beheerder")
    session.commit()
    assert bytes(recovered) == bytes(private) and next_recovery_key != first.recovery_key
    assert readable(session, user, recovered, submitted.reference)
    with pytest.raises(user_keys.WrongRecoveryKey):  # the used recovery key was replaced
        user_keys.recover(user, first.recovery_key, "wachtwoord van de beheerder")
    assert key_flows.at_login(session, user, "wachtwoord van de beheerder").private_key is not None


def test_a_reset_without_the_recovery_key_loses_access_until_a_colleague_grants(session: Session) -> None:
    colleague, colleague_key = staff(session, "collega")
    user, private = staff(session, "coord")
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    accounts.set_password(session, user, "wachtwoord van de beheerder")
    new_private, recovery_key = key_flows.start_over(session, user, "wachtwoord van de beheerder")
    session.commit()
    assert bytes(new_private) != bytes(private) and recovery_key
    assert not readable(session, user, new_private, submitted.reference)
    assert not readable(session, user, private, submitted.reference)  # the old key's grants are gone too
    assert access.grant_colleague(session, colleague, colleague_key, user) == 1
    session.commit()
    assert readable(session, user, new_private, submitted.reference)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"keys_replaced", "access_granted"} <= actions


def test_escrow_is_off_by_default_and_restores_a_key_when_on(session: Session, report_env: Path) -> None:
    without, _ = staff(session, "zonder-escrow")
    assert without.escrow_box is None and user_keys.escrow_public_key() is None
    escrow_file = user_keys.create_escrow_key("de wachtzin van de escrow")
    user, private = staff(session, "met-escrow")
    assert user.escrow_box is not None
    submitted = submission.submit_report(session, make_draft(what_happened=SECRET))
    accounts.set_password(session, user, "wachtwoord van de beheerder")  # and the recovery key is lost
    escrow_private = user_keys.load_escrow_private_key("de wachtzin van de escrow", escrow_file)
    restored = user_keys.escrow_restore(user, escrow_private, "nieuw wachtwoord na escrow")
    session.commit()
    assert bytes(restored) == bytes(private) and readable(session, user, restored, submitted.reference)
    with pytest.raises(user_keys.WrongRecoveryKey):
        user_keys.escrow_restore(without, escrow_private, "nieuw wachtwoord na escrow")
    audit.record(session, "key_recovered", username="test", detail="escrow")  # the CLI audits it


def test_admins_have_no_key_pair(session: Session) -> None:
    admin = accounts.create_user(session, "beheerder", "Beheerder", Role.ADMIN, PASSWORD)
    assert admin.public_key is None and admin.private_key_box is None
    assert key_flows.at_login(session, admin, PASSWORD).private_key is None


def test_the_public_interface_seals_for_a_report_and_opens_for_its_readers(session: Session) -> None:
    """`seal_for_report` / `open_for_reader`: what attachments (the evidence branch) use."""
    reader, reader_key = staff(session, "lezer")
    first = report_of(session, submission.submit_report(session, make_draft()).reference)
    second = report_of(session, submission.submit_report(session, make_draft()).reference)
    outsider, outsider_key = staff(session, "nieuwkomer")
    evidence = b"%PDF-1.7 factuur 2024-0117"
    sealed = report_keys.seal_for_report(first, evidence)
    assert evidence not in sealed
    assert report_keys.open_for_reader(session, first, reader, reader_key, sealed) == evidence
    with pytest.raises(report_keys.NoAccess):
        report_keys.open_for_reader(session, first, outsider, outsider_key, sealed)
    with pytest.raises(crypto.DecryptionError):  # sealed to another report's key
        report_keys.open_for_reader(session, second, reader, reader_key, sealed)
