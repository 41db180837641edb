"""Anonymous reports: storage, encryption and the report store used by the channels and the back office.

Runs in the main virtualenv only (SQLAlchemy 2, PyNaCl, argon2-cffi); nothing in the Rasa virtualenv imports it.

- `db`: engine and sessions from DATABASE_URL (SQLite with WAL, or PostgreSQL via psycopg 3)
- `models`: the tables; no column identifies the reporter
- `crypto`: sealed boxes, secret boxes, secrets wrapped under a password (Argon2id)
- `report_keys`: every report's own key pair, wrapped per reader (`seal_for_report`, `open_for_reader`);
  `installation_key`: the old shared key, read only by the key migration
- `receipts`: the reporter's receipt code and what is derived from it
- what callers use: `submission` (a new report), `reporter` (receipt code check, follow-up, reporter messages),
  `casework` (the back office side: lists, the decrypted report, status, replies, purge), with `schemas` (the
  frozen data in and out), `errors`, `deadlines` and `validation` (field limits, text cleaning)
- nothing commits except `db.transaction` / `db.session_scope` / `db.run`, which the callers (actions, web
  routes, CLI) wrap around each use case
- `cli`: operator commands (`python -m integrity.reports.cli --help`)
"""
