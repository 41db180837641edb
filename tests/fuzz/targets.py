"""Fuzz targets: the discovered endpoints, and per POST endpoint the forms (with real tokens) to fuzz it with.

Routes are discovered at collection time from `create_app().routes` (an app built in a throwaway environment,
only to read its routes), so that every route gets its own test id and new routes are fuzzed without editing
this package. `EXPECTED_ROUTES` is only the minimum: the tests fail if discovery finds less.

`discover(world)` visits every GET page as every role (path parameters filled with the seeded reports' and users'
references and ids) and keeps the `<form method="post">` elements per POST endpoint (a POST endpoint whose form no
page shows gets a synthesized form with the CSRF token computed for its form name), the query parameters that
links and GET forms use per GET endpoint, and which roles get a page there.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from backoffice.app import create_app
from backoffice.settings import Settings
from integrity.staff import sessions
from tests.fuzz.discovery import SESSION_TOKEN, Endpoint, Form, endpoints, parse_forms, parse_page
from tests.fuzz.world import ANONYMOUS, ROLES, World

EXPECTED_ROUTES = {
    "GET /opvolgen", "POST /opvolgen", "POST /opvolgen/bericht", "GET /chat", "POST /chat/berichten",
    "GET /beheer", "GET /beheer/aanmelden", "POST /beheer/aanmelden", "GET /beheer/aanmelden/code",
    "POST /beheer/aanmelden/code", "POST /beheer/afmelden", "GET /beheer/herstelsleutel", "GET /beheer/herstel",
    "POST /beheer/herstel", "GET /beheer/toegang", "POST /beheer/toegang", "GET /beheer/account",
    "POST /beheer/account/tweede-stap", "POST /beheer/account/wachtwoord",
    "GET /static/{path}",
}
# POST endpoints whose form must be found on a page (else form discovery is broken and fuzzing stays shallow).
EXPECTED_FORMS = {
    "POST /opvolgen", "POST /opvolgen/bericht", "POST /beheer/aanmelden", "POST /beheer/aanmelden/code",
    "POST /beheer/afmelden", "POST /beheer/account/tweede-stap",
    "POST /beheer/account/wachtwoord",
}
MAX_URLS_PER_PAGE = 24  # path-parameter combinations visited per GET route and role
MAX_FORMS_PER_ROLE = 3  # distinct actions kept per POST endpoint and role


@cache
def discovered_endpoints() -> tuple[Endpoint, ...]:
    """The app's endpoints, read from an app built with throwaway settings (nothing is served or stored)."""
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp) / "keys"
        env = {"INTEGRITY_KEY_DIR": str(key_dir), "DATABASE_URL": f"sqlite:///{tmp}/routes.db",
               "INTEGRITY_ARGON2_PROFILE": "test"}
        with mock.patch.dict(os.environ, env):
            for name in ("BACKOFFICE_SECRET", "INTEGRITY_PROFILE", "RASA_URL"):
                os.environ.pop(name, None)
            app = create_app(replace(Settings.from_env(), purge=False))
            found = tuple(endpoints(app))
            app.state.engine.dispose()
    return found


def endpoint(key: str) -> Endpoint:
    return next(e for e in discovered_endpoints() if e.key == key)


@dataclass
class FormTarget:
    """One way to post to an endpoint: as `role`, with a form found on `page` (or synthesized for `form_name`)."""

    role: str
    form: Form | None
    page: str | None = None  # re-fetched when the role's session changed (tokens are bound to the session)
    form_name: tuple[str, str] | None = None
    cookie: str | None = None

    def current(self, world: World) -> Form | None:
        cookie = world.cookie(self.role)
        if self.form_name is not None and self.form is not None:
            kind, name = self.form_name
            with world.sessions() as db:
                loaded = sessions.load(db, cookie)
                token = (loaded.csrf_token(name) if loaded else "") if kind == SESSION_TOKEN \
                    else world.app.state.tokens.csrf(name)
            self.form.hidden["csrf"] = token
        elif self.page is not None and self.form is not None and cookie != self.cookie:
            page = world.get(self.page, self.role)
            same = [f for f in parse_forms(page.text, self.page) if f.signature == self.form.signature]
            if same:
                self.form = same[0]
            self.cookie = cookie
        return self.form


def _page_urls(world: World, get: Endpoint) -> list[str]:
    if not get.path_params:
        return [get.path]
    ids = [quote(v, safe="") for v in world.ids]
    combos = itertools.islice(itertools.product(ids, repeat=len(get.path_params)), MAX_URLS_PER_PAGE)
    return [get.url(dict(zip(get.path_params, combo, strict=True))) for combo in combos]


@dataclass
class Discovery:
    """What visiting every page as every role found."""

    forms: dict[str, list[FormTarget]]  # POST endpoint key -> ways to post to it (drawn uniformly, so weighted)
    queries: dict[str, dict[str, set[str]]]  # GET endpoint key -> query parameter -> values seen in links, GET forms
    roles: dict[str, set[str]]  # GET endpoint key -> roles that got a page (200) there
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # GET endpoint key -> role -> a URL with a 200


def discover(world: World) -> Discovery:
    endpoints_ = discovered_endpoints()
    posts = [e for e in endpoints_ if e.method == "POST"]
    gets = [e for e in endpoints_ if e.method == "GET" and not e.static]
    found = Discovery({e.key: [FormTarget(ANONYMOUS, None)] for e in posts}, {}, {})
    seen: set[tuple[str, str, str]] = set()

    def add_form(role: str, page: str | None, form: Form) -> None:
        action = urlsplit(form.action).path
        post = next((e for e in posts if e.matches(action)), None)
        if post is None or (role, post.key, action) in seen:
            return
        if sum(1 for t in found.forms[post.key] if t.role == role and t.form is not None) >= MAX_FORMS_PER_ROLE:
            return
        seen.add((role, post.key, action))
        found.forms[post.key].append(FormTarget(role, form, page, cookie=world.cookie(role)))

    def add_query(target: str, pairs: list[tuple[str, str]]) -> None:
        get = next((e for e in gets if e.matches(urlsplit(target).path)), None)
        if get is not None:
            for name, value in pairs:
                found.queries.setdefault(get.key, {}).setdefault(name, set()).add(value)

    def visit(role: str, url: str, response: httpx.Response) -> None:
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            return
        forms, links = parse_page(response.text, url)
        for form in forms:
            if form.method == "post":
                add_form(role, url, form)
            else:
                add_query(form.action or url, [(f.name, o) for f in form.fields for o in f.options or [""]]
                          + list(form.hidden.items()))
        for link in links:
            add_query(link, parse_qsl(urlsplit(link).query, keep_blank_values=True))

    for role in ROLES:
        for get in gets:
            for url in _page_urls(world, get):
                response = world.get(url, role)
                if response.status_code == 200:
                    found.roles.setdefault(get.key, set()).add(role)
                    found.pages.setdefault(get.key, {}).setdefault(role, url)
                visit(role, url, response)
    visit(ANONYMOUS, "/opvolgen", world.reporter_view(world.reports[2]))  # the add-message form is on this page
    for post in posts:  # endpoints with a CSRF form name but no page showing their form: synthesize one
        for kind, name in post.form_names:
            for role in ROLES:
                if role == ANONYMOUS and kind == SESSION_TOKEN:
                    continue
                if not any(t.role == role and t.form is not None for t in found.forms[post.key]):
                    # no action: the test fills the path parameters itself
                    found.forms[post.key].append(FormTarget(role, Form("", {"csrf": ""}), form_name=(kind, name)))
    # Forms found on pages weigh three times (they get deepest), synthesized ones once, the formless random body once.
    found.forms = {key: [t for t in targets for _ in range(3 if t.form is not None and t.form_name is None else 1)]
                   for key, targets in found.forms.items()}
    return found
