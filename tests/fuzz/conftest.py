"""The fuzzing world: a migrated temp SQLite database with keys, reports and staff accounts, the app with a Rasa stub.

Session-scoped (building it costs Argon2 work), in a temp directory; the environment is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backoffice.app import create_app
from backoffice.settings import Settings
from integrity.reports import casework, db, reporter, schemas, submission
from integrity.reports.cli import upgrade
from integrity.reports.models import Report
from integrity.reports.report_keys import Reader
from integrity.staff import access, accounts, user_keys
from integrity.staff.models import StaffUser
from tests.fuzz.rasa_stub import RasaStub, running_rasa_stub
from tests.fuzz.targets import Discovery, discover, discovered_endpoints
from tests.fuzz.world import PASSWORD, USERS, Seeded, World

BULK_REPORTS = 52
REPORTS = (  # (profile, what happened, who gets it)
    ("vlaamse-overheid", "Een collega neemt kantoormateriaal mee naar huis voor zijn eigen zaak.", "handler"),
    ("vlaamse-overheid", "Mijn teamleider scheldt me uit tijdens vergaderingen.", "forwarded"),
    ("vlaamse-overheid", "Bij de aanbesteding kreeg een bevriende firma de offertes van de anderen te zien.", ""),
    ("vlaamse-overheid", "Er verdwijnen regelmatig tankkaarten uit de kast van de dienst.", "closed"),
    ("vlaamse-overheid", "Iemand van de dienst verkoopt adresgegevens van burgers.", "new"),
    ("federale-politie", "Een inspecteur laat vrienden gratis parkeren in de zone.", ""),
)


@pytest.fixture(scope="session")
def rasa_stub() -> Iterator[RasaStub]:
    with running_rasa_stub() as stub:
        yield stub


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    base = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
        patch.setenv("INTEGRITY_KEY_DIR", str(base / "keys"))
        patch.setenv("DATABASE_URL", f"sqlite:///{base / 'reports.db'}")
        for name in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE", "INTEGRITY_NEW_KEY_PASSPHRASE",
                     "SENDER_ID_SECRET", "INTEGRITY_PROFILE", "RASA_URL"):
            patch.delenv(name, raising=False)
        # Every in-memory rate limit (chat, login) out of the way: one test client sends thousands of requests.
        limits = {f.name: 10**6 for f in fields(Settings) if f.name.endswith("_limit")}
        yield replace(Settings.from_env(), purge=False, **limits)


def _seed(settings: Settings) -> tuple[list[Seeded], dict[str, int], dict[str, bytes]]:
    engine = db.make_engine(settings.database_url)
    upgrade(engine)
    factory = db.make_sessionmaker(engine)
    user_ids: dict[str, int] = {}
    seeded: list[Seeded] = []
    with factory() as session:
        for role, (username, kind, profile, actor) in USERS.items():
            user_ids[role] = accounts.create_user(session, username, f"Fuzz {role}", kind, PASSWORD,
                                                  profile_id=profile, actor=actor).id
        session.commit()
        coordinators = {profile: session.get(StaffUser, user_ids[role])
                        for role, profile in (("coordinator", "vlaamse-overheid"),
                                              ("other-organisation", "federale-politie"))}
        keys = {profile: user_keys.unlock(user, PASSWORD) for profile, user in coordinators.items() if user}
        for profile, text, fate in REPORTS:
            coordinator, key = coordinators[profile], keys[profile]
            assert coordinator is not None and key is not None
            draft = schemas.ReportDraft(category="fraude_corruptie", what_happened=text, profile_id=profile,
                                        channel="web", when="vorige week", where="gebouw A")
            result = submission.submit_report(session, draft)
            report_id = str(session.scalar(select(Report.id).where(Report.reference == result.reference)))
            seeded.append(Seeded(result.reference, report_id, result.receipt_code))
            reporter.add_reporter_message(session, result.receipt_code, "Ik heb er nog een foto van.")
            if fate != "new":  # a reply acknowledges the report; "new" keeps the acknowledge form on its page
                casework.reply_to_reporter(session, report_id, "Dank je, we bekijken het.",
                                           Reader(coordinator.id, key))
            if fate == "handler":
                session.execute(update(Report).where(Report.id == report_id).values(assignee_id=user_ids["handler"]))
            elif fate == "forwarded":
                session.execute(update(Report).where(Report.id == report_id).values(target_actor="vertrouwenspersoon"))
            elif fate == "closed":
                casework.change_status(session, report_id, "afgesloten", "Afgehandeld.")
            if fate in ("handler", "forwarded"):  # the report key follows the scope, as the case pages do it
                report = session.get(Report, report_id)
                assert report is not None
                session.refresh(report)
                access.follow_scope(session, report, coordinator, key)
            session.commit()
        for number in range(BULK_REPORTS):  # more than one page of the case list: its paging links get fuzzed too
            submission.submit_report(session, schemas.ReportDraft(
                category="pesten", what_happened=f"Melding nummer {number} over pesten op de dienst.",
                profile_id="vlaamse-overheid", channel="web"))
        staff_keys = {role: bytes(key) for role in USERS
                      if (key := user_keys.unlock(session.get(StaffUser, user_ids[role]), PASSWORD)) is not None}
    engine.dispose()
    return seeded, user_ids, staff_keys


_worlds: list[World] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`get_key` / `post_key` arguments: one test per discovered endpoint, named after it."""
    for method in ("GET", "POST"):
        argument = f"{method.lower()}_key"
        if argument in metafunc.fixturenames:
            keys = [e.key for e in discovered_endpoints() if e.method == method]
            metafunc.parametrize(argument, keys, ids=keys)


@pytest.fixture(scope="session")
def world(app_settings: Settings, rasa_stub: RasaStub) -> Iterator[World]:
    reports, user_ids, staff_keys = _seed(app_settings)
    app = create_app(replace(app_settings, rasa_url=rasa_stub.url))
    with TestClient(app, raise_server_exceptions=False) as client:
        world = World(app, client, app.state.engine, reports, user_ids, staff_keys)
        _worlds.append(world)
        yield world


@pytest.fixture(scope="session")
def discovery(world: World) -> Discovery:
    return discover(world)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """With -v: per endpoint, how many fuzzed requests got which status as which role (is the fuzzing deep?)."""
    if config.option.verbose < 1 or not _worlds:
        return
    terminalreporter.section("fuzzed requests: role:status x count")
    for key, outcomes in sorted(_worlds[-1].outcomes.items()):
        terminalreporter.write_line(f"{key}: " + " ".join(f"{o}x{n}" for o, n in sorted(outcomes.items())))
