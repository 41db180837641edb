"""The web app (FastAPI + Jinja2, server-rendered, Dutch UI): reporter pages, web chat, later the back office.

Structure after the FastAPI full-stack template: `settings` (one class read from the environment), `deps`
(dependencies: settings, DB session, templates, form parsing, signed tokens), `routes/` (one router per resource)
and `app.create_app()`. Run it with `python -m backoffice --host 127.0.0.1 --port 8000`.

Pages so far: the reporter's follow-up page (`/opvolgen`, no scripts) and the web chat (`/chat`, one small
script of our own, `static/chat.js`). The pages set no cookies; every form and chat request carries a signed,
time-limited CSRF token instead of a session.
"""
