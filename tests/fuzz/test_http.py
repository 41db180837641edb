"""Fuzz every HTTP endpoint of the web app: GET with random path parameters and query strings, POST with random
form bodies, as an anonymous visitor (random session cookies) and as a signed-in admin, coordinator, handler and
half-signed-in user (second factor pending), with and without the real CSRF tokens of the forms on the pages.

Each request must pass `tests.fuzz.checks.response_problems` (no 5xx, no traceback text, Dutch error pages,
security headers, no foreign cookies, no off-site redirects) and a refused request (4xx) must leave the database
as it was (`tests.fuzz.world.ALLOWED_ON_REFUSAL` lists the counters that refusals update on purpose).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import MAX_URL_PART, form_bodies, one_in, path_segments, query_strings
from tests.fuzz.targets import EXPECTED_FORMS, EXPECTED_ROUTES, Discovery, discovered_endpoints
from tests.fuzz.targets import endpoint as find_endpoint
from tests.fuzz.world import ANONYMOUS, ROLES, World

GET_EXAMPLES = 60
POST_EXAMPLES = 120
cookies = st.one_of(st.none(), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                     exclude_characters=';,"\\'), max_size=250),
                    st.sampled_from(["a.b", "AAAA.AAAA", "." * 3, "x" * 201]))


def test_discovery_finds_the_known_routes_and_their_forms(discovery: Discovery) -> None:
    keys = {e.key for e in discovered_endpoints()}
    assert keys >= EXPECTED_ROUTES, f"routes not discovered: {sorted(EXPECTED_ROUTES - keys)}"
    with_forms = {key for key, targets in discovery.forms.items() if any(t.form is not None for t in targets)}
    assert with_forms >= EXPECTED_FORMS, f"no form found for: {sorted(EXPECTED_FORMS - with_forms)}"


def test_fuzz_get(world: World, discovery: Discovery, get_key: str) -> None:
    endpoint = find_endpoint(get_key)
    known = {name: sorted(found) for name, found in discovery.queries.get(get_key, {}).items()}
    known.update({name: known.get(name, []) for name in endpoint.query_params})
    pool = sorted({*world.pool, *(value for found in known.values() for value in found)})
    # Mostly a role that gets a page here (else fuzzing ends at the login redirect or the 403), sometimes any.
    able = sorted(discovery.roles.get(get_key, ()))
    roles = st.one_of(st.sampled_from(able), st.sampled_from(ROLES)) if able else st.sampled_from(ROLES)

    @fuzz_settings(GET_EXAMPLES)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        role = data.draw(roles, label="role")
        segments = path_segments(world.ids, pool)
        if endpoint.examples:
            segments = st.one_of(st.sampled_from(endpoint.examples), segments)
        # Several path parameters share one MAX_URL_PART, so that the URL stays under httpx's 64 KiB limit.
        share = MAX_URL_PART // max(1, len(endpoint.path_params))
        params = {name: data.draw(segments, label=name)[:share] for name in endpoint.path_params}
        query = data.draw(query_strings(known, pool), label="query")
        url = endpoint.url(params) + (f"?{query}" if query else "")
        cookie = data.draw(cookies, label="cookie") if role == ANONYMOUS else None
        world.exchange(endpoint, url, role, fuzz_cookie=cookie)

    run()


def test_fuzz_post(world: World, discovery: Discovery, post_key: str) -> None:
    endpoint = find_endpoint(post_key)
    pool = world.pool
    targets = discovery.forms[post_key]

    @fuzz_settings(POST_EXAMPLES)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(targets), label="target")
        if not data.draw(one_in(4), label="keep throttle"):
            world.reset_throttles()
        form = target.current(world)
        body = data.draw(form_bodies(form, pool), label="body")
        if form is not None and form.action:
            url = form.action
        else:
            url = endpoint.url({name: data.draw(path_segments(world.ids, pool), label=name)
                                for name in endpoint.path_params})
        if data.draw(one_in(10), label="with query"):
            url += "?" + data.draw(query_strings({name: [] for name in endpoint.query_params}, pool), label="query")
        cookie = data.draw(cookies, label="cookie") if target.role == ANONYMOUS else None
        world.exchange(endpoint, url, target.role, body=body, fuzz_cookie=cookie)

    run()
