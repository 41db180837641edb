"""What there is to fuzz: the app's routes (found generically) and the POST forms its pages contain.

`endpoints(app)` walks `app.routes` (FastAPI includes routers lazily, so `fastapi.routing.iter_route_contexts`
expands them) and reads, per route, its method, path template, path and query parameters, and the CSRF form names
its dependencies check (`staff_form("<name>")`, `csrf_checked_form("<name>")`: the name is a closure variable of
the dependency). `parse_forms(html)` finds the `<form method="post">` elements of a page with their hidden fields
(real tokens) and visible fields; `parse_page` also returns the GET forms and links (their query parameters).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

# How a form's CSRF token is made, by the dependency that checks it.
SESSION_TOKEN = "session"  # backoffice.staff.staff_form: LoadedSession.csrf_token(form)
SIGNED_TOKEN = "signed"  # backoffice.deps.csrf_checked_form: Tokens.csrf(form)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /beheer/meldingen/{reference}
    regex: re.Pattern[str]
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    form_names: tuple[tuple[str, str], ...]  # (SESSION_TOKEN or SIGNED_TOKEN, form name)
    static: bool = False
    examples: tuple[str, ...] = ()  # path parameter values known to exist (the files of a static mount)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, path: str) -> bool:
        return self.regex.match(path) is not None

    def url(self, values: dict[str, str]) -> str:
        """The path with each `{param}` (or `{param:convertor}`) replaced by an already-encoded value."""
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], self.path)


def _walk(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in getattr(dependant, "dependencies", ()):
        yield from _walk(sub)


def _form_name(call: Any) -> tuple[str, str] | None:
    if call is None or not hasattr(call, "__code__") or "form_name" not in call.__code__.co_freevars:
        return None
    name = inspect.getclosurevars(call).nonlocals.get("form_name")
    if not isinstance(name, str):
        return None
    qualname = getattr(call, "__qualname__", "")
    return (SIGNED_TOKEN if qualname.startswith("csrf_checked_form") else SESSION_TOKEN), name


def endpoints(app: FastAPI) -> list[Endpoint]:
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not path:
            continue
        if isinstance(route, Mount):  # static files: GET with the file path as its parameter
            directory = getattr(route.app, "directory", None)
            files = tuple(sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*") if p.is_file())) \
                if directory else ()
            found.append(Endpoint("GET", f"{path}/{{path}}", re.compile(f"^{re.escape(path)}/(?P<path>.*)$"),
                                  ("path",), (), (), static=True, examples=files))
            continue
        if not isinstance(route, APIRoute):
            continue
        dependants = list(_walk(route.dependant))
        query = tuple(sorted({p.name for d in dependants for p in d.query_params}))
        path_params = tuple(context.param_convertors or ())
        forms = tuple(sorted({name for d in dependants if (name := _form_name(d.call)) is not None}))
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            found.append(Endpoint(method, path, context.path_regex, path_params, query, forms))
    return found


# --- forms in pages --------------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea" or "select"
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    hidden: dict[str, str] = field(default_factory=dict)
    fields: list[Field] = field(default_factory=list)
    page: str = ""  # the page it was found on, for failure messages
    method: str = "post"

    @property
    def signature(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Forms that differ only in token values count once."""
        return self.action, tuple(sorted(self.hidden)), tuple(sorted(f.name for f in self.fields))


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), method=a.get("method", "get").lower())
            return
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
            return
        if tag == "option":
            if self._select is not None:
                self._select.options.append(a.get("value", ""))
            return
        form = self._form
        if form is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                form.hidden[name] = a.get("value", "")
            elif kind in ("radio", "checkbox"):
                existing = next((f for f in form.fields if f.name == name), None)
                if existing is None:
                    form.fields.append(Field(name, kind, [a.get("value", "on")]))
                else:
                    existing.options.append(a.get("value", "on"))
            elif kind not in ("submit", "button", "reset", "image", "file"):
                form.fields.append(Field(name, kind, [a["value"]] if a.get("value") else []))
        elif tag == "textarea":
            form.fields.append(Field(name, "textarea"))
        elif tag == "select":
            self._select = Field(name, "select")
            form.fields.append(self._select)
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            form.fields.append(Field(name, "button", [a.get("value", "")]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None



def parse_page(html: str, page: str = "") -> tuple[list[Form], list[str]]:
    """All forms (GET and POST) and link targets of a page."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        form.page = page
    return parser.forms, parser.links


def parse_forms(html: str, page: str = "") -> list[Form]:
    """The `<form method="post">` elements of a page."""
    return [form for form in parse_page(html, page)[0] if form.method == "post"]
