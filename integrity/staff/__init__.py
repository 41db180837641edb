"""Back office staff: accounts, sessions, roles and scope, audit log, case notes and assignment, staff keys
(`user_keys`, `key_flows`), who holds a report's key (`access`) and the key migration (`key_migration`).

Pure Python + SQLAlchemy (main virtualenv); the web layer is `backoffice/`.
"""
