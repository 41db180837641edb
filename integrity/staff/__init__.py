"""Back office staff: accounts, sessions, roles and scope, audit log, case notes and assignment.

Pure Python + SQLAlchemy (main virtualenv); the web layer is `backoffice/`.
"""
