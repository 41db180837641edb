"""A throwaway PostgreSQL server from Debian's binaries, for the storage tests and the benchmarks.

Started in a temporary directory (owned by the `postgres` user when running as root) on a free port on
127.0.0.1; `make test-deps` installs the Debian package. Durability is switched off (fsync, synchronous commit,
full page writes): fine for tests and relative benchmarks, not for production.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_DATABASE_NUMBERS = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    pass


def _pg_bindir() -> Path | None:
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        return None
    newest = max(candidates, key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"reports_{next(_DATABASE_NUMBERS)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def failure(self, step: str, result: subprocess.CompletedProcess[str]) -> PostgresUnavailable:
        log = self.root / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        return PostgresUnavailable(
            f"PostgreSQL {step} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n{tail}")


@contextmanager
def temporary_postgres() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb and pg_ctl). "
            "Run `make test-deps` (installs the Debian package `postgresql`) and try again.")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="integrity-pg-"))
    if as_postgres:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(
                "Running as root but there is no `postgres` system user: run `make test-deps`.") from None
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PostgresServer(bindir, root, _free_port(), as_postgres)
    try:
        result = server.run("initdb", "-D", str(server.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync")
        if result.returncode != 0:
            raise server.failure("initdb", result)
        options = (f"-h 127.0.0.1 -p {server.port} -k {root} -F -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        result = server.run("pg_ctl", "-D", str(server.data), "-l", str(root / "server.log"), "-w", "-t", "60",
                            "-o", options, "start")
        if result.returncode != 0:
            raise server.failure("start", result)
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
