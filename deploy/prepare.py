"""One-shot start-up job of a deployment (`prepare` in deploy/compose.yaml), before any server starts.

1. Migrates the report database (DATABASE_URL) to the newest revision.
2. Creates the installation secret `receipt.salt` in the key directory if it is missing: every action server and
   web app replica must share one, or receipt codes issued by one replica are unknown to the others. Creating it
   here, once, avoids replicas racing to create their own.
3. Says which organisations have no coordinator or handler with a key pair yet: the chat refuses their reports
   (nobody could read them) until an operator creates one (`python -m integrity.staff create-user`), whose key
   pair is made from their password. Every report is sealed to its own key (docs/security.md).

It never needs or reads a password or passphrase.
"""

from __future__ import annotations

import sys

from integrity.profiles import available_profiles
from integrity.reports import crypto, db
from integrity.reports.cli import upgrade
from integrity.reports.receipts import installation_secret
from integrity.settings import DomainSettings
from integrity.staff import accounts, user_keys


def main() -> int:
    engine = db.make_engine(DomainSettings.from_env().database_url)
    try:
        upgrade(engine)
        where = engine.url.render_as_string(hide_password=True)
        with db.make_sessionmaker(engine)() as session:
            without = [profile for profile in available_profiles()
                       if not any(user_keys.has_keys(user) and user.active
                                  for user in accounts.list_users(session, profile))]
    finally:
        engine.dispose()
    print(f"prepare: report database {where} migrated.", flush=True)
    directory = crypto.key_dir()
    installation_secret(directory)
    print(f"prepare: receipt salt present in {directory}.", flush=True)
    if without:
        print(f"prepare: no staff member with a key pair yet for {', '.join(without)}: the chat refuses their "
              "reports until a coordinator is created (python -m integrity.staff create-user ... --role "
              "coordinator --profile ID).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
