"""Anonymous reports: storage, encryption and the service used by the channels and the back office.

Runs in the main virtualenv only (SQLAlchemy 2, PyNaCl, argon2-cffi); nothing in the Rasa virtualenv imports it.

- `db`: engine and sessions from DATABASE_URL (SQLite with WAL, or PostgreSQL via psycopg 3)
- `models`: the tables; no column identifies the reporter
- `crypto`: the back office key pair, sealed boxes, key rotation
- `receipts`: the reporter's receipt code and what is derived from it
- `service`: submit, follow up, messages, status and deadlines, purge
- `cli`: operator commands (`python -m integrity.reports.cli --help`)
"""
