"""The back office web app (FastAPI + Jinja2, server-rendered, no JavaScript, Dutch UI).

Structure after the FastAPI full-stack template: `settings` (one class read from the environment), `deps`
(dependencies: settings, DB session, templates, form parsing, signed tokens), `routes/` (one router per resource)
and `app.create_app()`. Run it with `python -m backoffice --host 127.0.0.1 --port 8000`.

Pages so far: the reporter's follow-up page (`/opvolgen`). The pages set no cookies and load no scripts; every
form carries a signed, time-limited CSRF token instead of a session.
"""
