"""The app under fuzzing with a seeded database, staff sessions per role, and one checked request: `exchange`.

One TestClient serves every role; cookies are passed per request (the client's cookie jar is cleared each time),
so each role keeps its own staff session. `World.cookie(role)` logs the role in again whenever fuzzing ended
its session (logout, password change, lock-out after wrong codes), first repairing the account in the database.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import note
from hypothesis.control import currently_in_test_context
from nacl.public import PrivateKey
from sqlalchemy import Engine, delete, inspect
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports.models import FollowUpAttempt
from integrity.staff import accounts, passwords, sessions, user_keys
from integrity.staff.models import Role
from tests.fuzz.checks import Allowed, Snapshot, response_problems
from tests.fuzz.discovery import Endpoint, parse_forms
from tests.fuzz.strategies import Body

ANONYMOUS = "anoniem"
PENDING = "tweede-stap"  # password given, second factor not yet: the only way to reach /beheer/aanmelden/code
ROLES = (ANONYMOUS, "admin", "coordinator", "handler", PENDING)
CASE_WORKERS = ("coordinator", "handler")
PASSWORD = "een lang wachtwoord voor fuzzing 42"
USERS = {  # role -> (username, Role, profile, actor)
    "admin": ("fuzz-admin", Role.ADMIN, None, None),
    "coordinator": ("fuzz-coord", Role.COORDINATOR, "vlaamse-overheid", None),
    "handler": ("fuzz-handler", Role.HANDLER, "vlaamse-overheid", "vertrouwenspersoon"),
    PENDING: ("fuzz-totp", Role.COORDINATOR, "vlaamse-overheid", None),
    "other-organisation": ("fuzz-politie", Role.COORDINATOR, "federale-politie", None),
}
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

# Refused requests that store something on purpose (endpoint key patterns, fnmatch): failed sign-ins are audited,
# wrong receipt codes feed the (keyed-hash) throttle, and a refused case form shows the case again, which is
# audited as a view. Nothing else may change when a request is refused.
ALLOWED_ON_REFUSAL: dict[str, Allowed] = {
    "POST /beheer/aanmelden": Allowed(audit_actions=frozenset({"login_failed", "account_locked"})),
    "POST /beheer/aanmelden/code": Allowed(audit_actions=frozenset({"login_failed", "account_locked"})),
    "POST /opvolgen": Allowed(tables=frozenset({"follow_up_attempts"})),
    "POST /beheer/meldingen/*": Allowed(audit_actions=frozenset({"report_viewed"})),
}


def allowed_on_refusal(endpoint: Endpoint) -> Allowed:
    for pattern, allowed in ALLOWED_ON_REFUSAL.items():
        if fnmatch.fnmatchcase(endpoint.key, pattern):
            return allowed
    return Allowed()


@dataclass(frozen=True)
class Seeded:
    reference: str
    report_id: str
    code: str


@dataclass
class World:
    app: FastAPI
    client: TestClient
    engine: Engine
    reports: list[Seeded]
    user_ids: dict[str, int]
    staff_keys: dict[str, bytes] = field(default_factory=dict)  # role -> private key, to repair fuzzed accounts
    tables: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    # endpoint key -> Counter of "role:status", for the summary `pytest -v tests/fuzz` prints
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def __post_init__(self) -> None:
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.tables = inspect(self.engine).get_table_names()

    @property
    def pool(self) -> list[str]:
        """Real values that get fuzzed input past the first checks (path parameters, selects, passwords)."""
        values = {PASSWORD, *(u[0] for u in USERS.values()), *map(str, self.user_ids.values())}
        for seeded in self.reports:
            values |= {seeded.reference, seeded.report_id, seeded.code, seeded.code.replace(" ", "")}
        values |= {"nieuw", "ontvangen", "in_behandeling", "doorverwezen", "afgesloten", "vertrouwenspersoon",
                   "vlaamse-overheid", "federale-politie", "admin", "coordinator", "handler", "csv", "1", "2"}
        return sorted(values)

    @property
    def ids(self) -> list[str]:
        """What path parameters name: the seeded reports' references and ids, the staff accounts' ids."""
        return sorted({v for s in self.reports for v in (s.reference, s.report_id)}
                      | {str(i) for i in self.user_ids.values()})

    def reset_throttles(self) -> None:
        """Forget wrong receipt codes, so that fuzzing /opvolgen does not end at the throttle (429) every time."""
        with self.sessions() as db:
            db.execute(delete(FollowUpAttempt))
            db.commit()

    # --- plain requests ------------------------------------------------------------------------------------------

    def send(self, method: str, url: str, *, cookie: str | None = None, content: bytes | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        self.client.cookies.clear()
        all_headers = dict(headers or {})
        if cookie is not None:
            all_headers["cookie"] = f"bo_sessie={cookie}"
        return self.client.request(method, url, content=content, headers=all_headers, follow_redirects=False)

    def get(self, url: str, role: str) -> httpx.Response:
        return self.send("GET", url, cookie=self.cookie(role))

    # --- staff sessions -----------------------------------------------------------------------------------------

    def cookie(self, role: str) -> str | None:
        if role == ANONYMOUS:
            return None
        cookie = self.cookies.get(role)
        if cookie is not None:
            with self.sessions() as db:
                loaded = sessions.load(db, cookie)
                if loaded is not None and loaded.complete == (role != PENDING) and (
                        role not in CASE_WORKERS or loaded.key_unlocked):
                    return cookie
        self.cookies[role] = self._login(role)
        return self.cookies[role]

    def _repair_account(self, role: str) -> None:
        username = USERS[role][0]
        with self.sessions() as db:
            user = accounts.get_user(db, username)
            assert user is not None, f"fuzzing deleted the account {username}"
            user.active, user.failed_logins, user.locked_until = True, 0, None
            wanted_totp = role == PENDING
            if (user.totp_secret_box is not None) != wanted_totp:
                user.totp_secret_box = (accounts.TotpKey.from_secret(self.app.state.settings.secret)
                                        .seal(TOTP_SECRET) if wanted_totp else None)
            db.commit()
            if not passwords.verify_password(user.password_hash, PASSWORD):
                user.password_hash = passwords.hash_password(PASSWORD)
            if role in self.staff_keys and user_keys.unlock(user, PASSWORD) is None:
                # a fuzzed password change, admin reset or new key pair: the seeded key under PASSWORD again
                private = PrivateKey(self.staff_keys[role])
                user.public_key = bytes(private.public_key)
                user_keys.rewrap(user, private, PASSWORD)
            db.commit()

    def _login(self, role: str) -> str:
        self._repair_account(role)
        page = self.send("GET", "/beheer/aanmelden")
        form = next(f for f in parse_forms(page.text) if f.action == "/beheer/aanmelden")
        body = {**form.hidden, "gebruiker": USERS[role][0], "wachtwoord": PASSWORD}
        response = self.client.post("/beheer/aanmelden", data=body, follow_redirects=False)
        assert response.status_code == 303, f"login of {role} failed: {response.status_code}"
        cookie = response.cookies.get("bo_sessie")
        assert cookie, f"login of {role} set no session cookie"
        return cookie

    # --- forms --------------------------------------------------------------------------------------------------

    def reporter_view(self, seeded: Seeded) -> httpx.Response:
        """The reporter's view of a report (it holds the add-message form with a report token)."""
        self.reset_throttles()  # wrong codes fuzzed before may have throttled the test client
        page = self.send("GET", "/opvolgen")
        form = next(f for f in parse_forms(page.text) if f.action == "/opvolgen")
        self.client.cookies.clear()
        view = self.client.post("/opvolgen", data={**form.hidden, "code": seeded.code})
        assert view.status_code == 200, f"follow-up with a real code failed: {view.status_code}"
        return view

    # --- one checked request ------------------------------------------------------------------------------------

    def exchange(self, endpoint: Endpoint, url: str, role: str, *, body: Body | None = None,
                 fuzz_cookie: str | None = None, allowed_5xx: frozenset[int] = frozenset(),
                 extra_headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one fuzzed request and assert every property (see tests.fuzz.checks)."""
        cookie = self.cookie(role) if role != ANONYMOUS else fuzz_cookie
        headers = {**(body.headers if body else {}), **(extra_headers or {})}
        before = Snapshot.take(self.engine, self.tables)
        if currently_in_test_context():  # the sweep calls this outside Hypothesis
            note(f"{endpoint.method} {url[:300]} as {role}; headers {headers}; cookie {cookie!r:.80}; "
                 f"body {(body.content[:300] if body else b'')!r}")
        response = self.send(endpoint.method, url, cookie=cookie, content=body.content if body else None,
                             headers=headers)
        self.outcomes[endpoint.key][f"{role}:{response.status_code}"] += 1
        sent = unquote(url) + " " + (body.sent if body else "") + " " + (cookie or "")
        problems = response_problems(response, sent=sent, static=endpoint.static, allowed_5xx=allowed_5xx)
        if 400 <= response.status_code < 500:
            after = Snapshot.take(self.engine, self.tables)
            problems += [f"stored by a refused request: {d}"
                         for d in before.differences(after, allowed_on_refusal(endpoint))]
        assert not problems, (f"{endpoint.method} {url[:200]} as {role} -> {response.status_code}: {problems}\n"
                              f"body: {response.text[:600]}")
        return response
