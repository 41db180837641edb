"""One-shot start-up job of a deployment (`prepare` in deploy/compose.yaml), before any server starts.

1. Migrates the report database (DATABASE_URL) to the newest revision.
2. Creates the installation secret `receipt.salt` in the key directory if it is missing: every action server and
   web app replica must share one, or receipt codes issued by one replica are unknown to the others. Creating it
   here, once, avoids replicas racing to create their own.
3. Refuses to continue (exit 1) when the back office public key is missing: reports could not be sealed. The key
   pair is made once by an operator, `docker compose run --rm admin keygen`, who types the passphrase.

It never needs or reads the passphrase.
"""

from __future__ import annotations

import sys

from integrity.reports import crypto, db
from integrity.reports.cli import upgrade
from integrity.reports.receipts import installation_secret
from integrity.settings import DomainSettings


def main() -> int:
    engine = db.make_engine(DomainSettings.from_env().database_url)
    try:
        upgrade(engine)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    print(f"prepare: report database {where} migrated.", flush=True)
    directory = crypto.key_dir()
    installation_secret(directory)
    if not (directory / crypto.PUBLIC_KEY_FILE).is_file():
        print(f"prepare: no back office public key in {directory}. Create the key pair once with\n"
              "    docker compose -f deploy/compose.yaml run --rm admin keygen\n"
              "and keep its passphrase safe (docs/deployment.md, Keys).", file=sys.stderr)
        return 1
    crypto.load_public_key(directory)
    print(f"prepare: receipt salt and back office public key present in {directory}.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
