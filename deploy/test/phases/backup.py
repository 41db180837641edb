"""Phase: backup and restore of PostgreSQL and the key volume, with a restore test."""

from __future__ import annotations

import subprocess
from typing import Any

from stack import ACCOUNT, ENV, OUT, PROJECT, SECRETS, check, container, podman

PG = 'PGPASSWORD="$(cat /run/secrets/postgres_password)"'
PG_ARGS = "-h 127.0.0.1 -U integrity"


def test_backup_restore(results: dict[str, Any], report: tuple[str, str]) -> None:
    """pg_dump and a tar of the key volume; restored into a second database and a new volume, from which the
    report CLI decrypts the report with the coordinator's password (their key pair travels with the database)."""
    backup = OUT / "backup"
    backup.mkdir(parents=True, exist_ok=True)
    dump = subprocess.run(["podman", "exec", container("postgres"), "sh", "-c",
                           f"{PG} pg_dump {PG_ARGS} -Fc integrity"], env=ENV, capture_output=True, timeout=120)
    check(dump.returncode == 0 and dump.stdout, f"pg_dump failed: {dump.stderr.decode()[-300:]}")
    (backup / "integrity.dump").write_bytes(dump.stdout)
    keys = subprocess.run(["podman", "run", "--rm", "--network", "none", "-v", f"{PROJECT}_keys:/keys:ro",
                           "--entrypoint", "tar", "localhost/integrity-app:latest", "-C", "/keys", "-c", "."],
                          env=ENV, capture_output=True, timeout=120)
    check(keys.returncode == 0 and keys.stdout, f"backing up the key volume failed: {keys.stderr.decode()[-300:]}")
    (backup / "keys.tar").write_bytes(keys.stdout)
    podman("exec", container("postgres"), "sh", "-c", f"{PG} dropdb {PG_ARGS} --if-exists integrity_restore && "
           f"{PG} createdb {PG_ARGS} integrity_restore")
    restore = subprocess.run(["podman", "exec", "-i", container("postgres"), "sh", "-c",
                              f"{PG} pg_restore {PG_ARGS} --no-owner -d integrity_restore"], input=dump.stdout,
                             env=ENV, capture_output=True, timeout=120)
    check(restore.returncode == 0, f"pg_restore failed: {restore.stderr.decode()[-300:]}")
    podman("volume", "rm", "-f", f"{PROJECT}_restore_keys", check_rc=False)
    podman("volume", "create", f"{PROJECT}_restore_keys")
    untar = subprocess.run(["podman", "run", "--rm", "-i", "--network", "none", "--user", "app", "-v",
                            f"{PROJECT}_restore_keys:/keys", "--entrypoint", "tar", "localhost/integrity-app:latest",
                            "-C", "/keys", "-x"], input=keys.stdout, env=ENV, capture_output=True, timeout=120)
    check(untar.returncode == 0, f"restoring the key volume failed: {untar.stderr.decode()[-300:]}")
    url = (SECRETS / "database_url").read_text().strip().rsplit("/", 1)[0] + "/integrity_restore"
    code, reference = report
    listed = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                    "-e", f"DATABASE_URL={url}", "-e",
                    "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest", "python", "-m",
                    "integrity.reports.cli", "list").stdout
    check(reference in listed, f"{reference} is not in the restored database")
    report_id = next(line.split()[0] for line in listed.splitlines() if reference in line)
    shown = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                   "-e", f"DATABASE_URL={url}", "-e", f"INTEGRITY_STAFF_PASSWORD={ACCOUNT.staff_password}", "-e",
                   "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest", "python", "-m",
                   "integrity.reports.cli", "show", "--no-mark-read", "--user", ACCOUNT.staff_user, report_id).stdout
    check("afdeling aankoop" in shown, "the restored report could not be decrypted with the coordinator's key")
    followed = podman("run", "--rm", "--network", f"{PROJECT}_backend", "-v", f"{PROJECT}_restore_keys:/keys:ro",
                      "-e", f"DATABASE_URL={url}", "-e", "INTEGRITY_KEY_DIR=/keys", "localhost/integrity-app:latest",
                      "python", "-c", "import sys; from integrity.reports import db, reporter; "
                      "from integrity.settings import DomainSettings; "
                      "s = db.session_factory(DomainSettings.from_env().database_url)(); "
                      "print(reporter.follow_up(s, sys.argv[1], "
                      "throttle_key='restore-test').reference)", code).stdout.strip()
    check(followed == reference, f"the receipt code does not open {reference} in the restored copy: {followed}")
    podman("exec", container("postgres"), "sh", "-c", f"{PG} dropdb {PG_ARGS} integrity_restore")
    results["backup_restore"] = {"dump_bytes": len(dump.stdout), "keys_tar_bytes": len(keys.stdout),
                                 "restored_report": reference, "decrypted": True, "receipt_code_opens": True}

