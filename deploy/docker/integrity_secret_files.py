"""Secrets from files, for every Python process of the application images (loaded by integrity-secret-files.pth).

For every `NAME_FILE=/run/secrets/x` in the environment, the file's content becomes `os.environ["NAME"]` inside
this Python process only: it is put into `os.environ`'s mapping without `putenv`, so it is not in the process's
environment block (`/proc/PID/environ`), and child processes (Sanic's spawned workers, subprocesses) get only
`NAME_FILE` and read the file themselves. The applications keep reading plain variables (`DATABASE_URL`,
`REDIS_PASSWORD`, ...), while no secret is in an image, a container's configuration or a process environment.
An unreadable file stops the process with a message naming the variable (deploy/docker/entrypoint.sh checks the
same before the service starts).
"""

from __future__ import annotations

import os
import re
import sys

NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def load() -> None:
    for variable in [key for key in os.environ if key.endswith("_FILE")]:
        name = variable.removesuffix("_FILE")
        if not NAME.fullmatch(name) or name in os.environ:
            continue
        path = os.environ[variable]
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            print(f"secret files: {variable} points to {path}, which cannot be read ({exc.strerror})", file=sys.stderr)
            raise SystemExit(1) from None
        environ = os.environ
        environ._data[environ.encodekey(name)] = environ.encodevalue(value)  # type: ignore[attr-defined]
