"""A deterministic sweep next to the random search: every parameter of every endpoint gets every value of
`SWEEP_VALUES` once (numbers past 64 bits, superscript digits that `str.isdigit()` accepts and `int()` refuses,
control characters, huge text, traversal, markup), as a role that gets the page, with the real tokens of the form.

Hypothesis explores combinations; this guarantees the single nasty value in the single parameter that breaks a
route is always tried. The properties are the same (`World.exchange`).
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus, urlsplit

import pytest

from tests.fuzz.strategies import SWEEP_VALUES, Body
from tests.fuzz.targets import Discovery, FormTarget
from tests.fuzz.targets import endpoint as find_endpoint
from tests.fuzz.world import ANONYMOUS, World

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_sweep_get(world: World, discovery: Discovery, get_key: str) -> None:
    endpoint = find_endpoint(get_key)
    pages = discovery.pages.get(get_key)
    if not pages and endpoint.examples:  # static files: a file that exists
        pages = {ANONYMOUS: endpoint.url({endpoint.path_params[0]: endpoint.examples[0]})}
    if not pages:
        pytest.skip(f"no role gets a page at {get_key} with the seeded data")
    role, url = sorted(pages.items())[0]
    base = urlsplit(url).path
    names = sorted({*endpoint.query_params, *discovery.queries.get(get_key, {})})
    segments = base.split("/")
    positions = [i for i, part in enumerate(endpoint.path.split("/")) if part.startswith("{")]
    for value in SWEEP_VALUES:
        for name in names:
            world.exchange(endpoint, f"{base}?{quote_plus(name)}={quote_plus(value)}", role)
        for position in positions:
            changed = [*segments[:position], quote(value, safe="") or "x", *segments[position + 1:]]
            world.exchange(endpoint, "/".join(changed), role)


def _first_form(targets: list[FormTarget]) -> FormTarget | None:
    """A form found on a page (real tokens and fields), else a synthesized one."""
    found = [t for t in targets if t.form is not None]
    return next((t for t in found if t.form_name is None), found[0] if found else None)


def test_sweep_post(world: World, discovery: Discovery, post_key: str) -> None:
    endpoint = find_endpoint(post_key)
    target = _first_form(discovery.forms[post_key])
    if target is None:
        pytest.skip(f"no form for {post_key}")
    # a synthesized form has no action: the first seeded id for every path parameter
    url = endpoint.url(dict.fromkeys(endpoint.path_params, quote(world.ids[0], safe="")))
    for value in SWEEP_VALUES:
        form = target.current(world)
        assert form is not None
        fields = {f.name: (f.options[0] if f.options else "x") for f in form.fields}
        for name in [*fields, *(n for n in form.hidden if n != "csrf")] or ["x"]:
            pairs = {**form.hidden, **fields, name: value}
            content = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs.items()).encode("ascii")
            sent = " ".join(f"{k} {v}" for k, v in pairs.items())
            world.exchange(endpoint, form.action or url, target.role, body=Body(content, FORM, sent))
            form = target.current(world)  # the session may have ended (logout, password change): fresh tokens
            assert form is not None
