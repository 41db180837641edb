"""The properties every fuzzed response must have, and the database snapshot for "nothing stored".

`response_problems(...)` lists what is wrong with one response (empty list: fine):
- no 5xx (unless the caller expects a 503, e.g. the chat with Rasa down);
- the security headers (CSP, no framing, no referrer, nosniff) and, except static files, Cache-Control no-store;
- no traceback text, exception names or English framework defaults in the body (unless the request itself sent
  that text, which a form may show again);
- every 4xx/5xx is the app's Dutch error page (error.html: `Foutcode <status>`), a Dutch page showing the problem
  in a `role="alert"` box, or for the JSON chat API `{"error": <text>}`;
- redirects stay on this site; cookies only the locked-down staff session cookie under /beheer.

`Snapshot.take(engine)` records the row count of every table in the database, the audit log's entries per action
and, per report, its status, owner, forwarding and the number of messages, status changes and case notes.
`Allowed` names what a refused request may change on purpose (a failed sign-in is audited, for instance).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, func, inspect, select

from integrity.reports.models import Report, ReportMessage, StatusChange
from integrity.staff.models import AuditEntry, CaseNote

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
LEAK_PATTERNS = [
    re.compile(p) for p in (
        r"Traceback \(most recent call last\)",
        r'File "[^"]*", line \d+',
        r"\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b",
        r"\b(?:sqlalchemy|sqlite3|psycopg|pydantic|starlette|fastapi|jinja2|uvicorn|nacl|argon2)\b",
        r"\b(?:Internal Server Error|Not Found|Method Not Allowed|Unprocessable Entity|Bad Request)\b",
        r'"detail"\s*:',
        r"root:x:0:0",  # a path traversal that reached /etc/passwd
    )
]


def _leaks(body: str, sent: str) -> list[str]:
    found = []
    for pattern in LEAK_PATTERNS:
        for match in pattern.finditer(body):
            if match.group(0) not in sent:
                found.append(match.group(0))
    return found


def _error_page_problem(response: httpx.Response) -> str | None:
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/html":
        text = response.text
        if '<html lang="nl">' not in text:
            return "error page is not a Dutch page of the app (no <html lang=\"nl\">)"
        if f"Foutcode {status}" not in text and 'role="alert"' not in text:
            return f"error page is neither error.html (Foutcode {status}) nor a page with a role=\"alert\" message"
        return None
    if content_type == "application/json":
        try:
            data = json.loads(response.content)
        except ValueError:
            return "JSON error response is not JSON"
        if not (isinstance(data, dict) and set(data) == {"error"} and isinstance(data["error"], str)
                and data["error"].strip()):
            return f"JSON error response is not {{\"error\": <text>}}: {str(data)[:200]}"
        return None
    return f"error response has content type '{content_type}'"


def response_problems(response: httpx.Response, *, sent: str = "", static: bool = False,
                      allowed_5xx: frozenset[int] = frozenset()) -> list[str]:
    problems: list[str] = []
    status = response.status_code
    if status >= 500 and status not in allowed_5xx:
        problems.append(f"server error {status}")
    for name, value in SECURITY_HEADERS.items():
        if response.headers.get(name) != value:
            problems.append(f"header {name} is {response.headers.get(name)!r}")
    if "default-src 'self'" not in response.headers.get("content-security-policy", ""):
        problems.append("no Content-Security-Policy default-src 'self'")
    if not static and response.headers.get("cache-control") != "no-store":
        problems.append(f"Cache-Control is {response.headers.get('cache-control')!r}, not no-store")
    path = response.request.url.path
    for cookie in response.headers.get_list("set-cookie"):
        flags = cookie.lower()
        # The staff session cookie and the login form's pre-session cookie (CSRF binding), both locked down.
        if not (path.startswith("/beheer") and cookie.startswith(("bo_sessie=", "bo_aanmelden="))
                and all(flag in flags for flag in ("httponly", "samesite=strict", "path=/beheer"))):
            problems.append(f"unexpected cookie {cookie[:80]!r}")
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        target = urlsplit(location)
        # A path on this site, or (Starlette's trailing-slash redirect) an absolute URL on the request's own host.
        same_host = target.scheme in ("http", "https") and target.netloc == urlsplit(str(response.request.url)).netloc
        if not same_host and (not location.startswith("/") or location.startswith(("//", "/\\"))):
            problems.append(f"redirect off the site: {location[:120]!r}")
    if not (static and status < 400):  # our own static files may contain the word Error (chat.js)
        problems.extend(f"body leaks {leak!r}" for leak in _leaks(response.text, sent))
    if status >= 400:
        problem = _error_page_problem(response)
        if problem:
            problems.append(problem)
    return problems


# --- nothing stored --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """What a refused request may change: these tables' row counts, and new audit entries with these actions."""

    tables: frozenset[str] = frozenset()
    audit_actions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    reports: frozenset[tuple[object, ...]]
    audit: Counter[str] = field(default_factory=Counter)

    @classmethod
    def take(cls, engine: Engine, tables: list[str] | None = None) -> Snapshot:
        tables = tables or inspect(engine).get_table_names()
        messages = select(func.count()).where(ReportMessage.report_id == Report.id).scalar_subquery()
        changes = select(func.count()).where(StatusChange.report_id == Report.id).scalar_subquery()
        notes = select(func.count()).where(CaseNote.report_id == Report.id).scalar_subquery()
        with engine.connect() as connection:
            counts = {name: connection.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar_one()
                      for name in tables}
            rows = connection.execute(select(Report.id, Report.status, Report.assignee_id, Report.target_actor,
                                             Report.acknowledged_at, Report.closed_at, messages, changes, notes))
            reports = frozenset(tuple(row) for row in rows)
            audit = Counter({action: count for action, count in connection.execute(
                select(AuditEntry.action, func.count()).group_by(AuditEntry.action))})
        return cls(counts, reports, audit)

    def differences(self, later: Snapshot, allowed: Allowed = Allowed()) -> list[str]:
        found = [f"{name}: {count} -> {later.counts.get(name)} rows" for name, count in self.counts.items()
                 if name not in allowed.tables and name != AuditEntry.__tablename__
                 and later.counts.get(name) != count]
        if "reports" not in allowed.tables and self.reports != later.reports:
            found.append(f"reports changed: {sorted(map(str, self.reports ^ later.reports))[:4]}")
        added = later.audit - self.audit
        found += [f"audit entry '{action}' added" for action in sorted(added) if action not in allowed.audit_actions]
        return found
