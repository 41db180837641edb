"""A throwaway redis-server (Debian's binary, `make test-deps`) with deploy/redis.conf, and a minimal client.

The server runs on a free port on 127.0.0.1 in a temporary directory, with a password and without persistence
(the production config already has none); it is stopped and its directory removed afterwards. The client speaks
just enough RESP for the tests (this virtualenv has no Redis library; Rasa's has one, in Python 3.10).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from devtools.stack import REPO, free_port

REDIS_SERVER = "/usr/bin/redis-server"
CONFIG = REPO / "deploy" / "redis.conf"

Reply = bytes | int | list["Reply"] | None


class RedisError(RuntimeError):
    pass


@dataclass
class RedisServer:
    port: int
    password: str
    log: Path

    def command(self, *args: str | int, db: int = 0) -> Reply:
        """One command on a new connection (after AUTH and SELECT)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            stream = sock.makefile("rb")
            for request in (("AUTH", self.password), ("SELECT", db), args):
                sock.sendall(_encode(request))
                reply = _read(stream)
            return reply

    def keys(self, pattern: str = "*", db: int = 0) -> list[str]:
        reply = self.command("KEYS", pattern, db=db)
        assert isinstance(reply, list)
        return sorted(key.decode() for key in reply if isinstance(key, bytes))

    def get(self, key: str, db: int = 0) -> str | None:
        reply = self.command("GET", key, db=db)
        return reply.decode() if isinstance(reply, bytes) else None

    def ttl(self, key: str, db: int = 0) -> int:
        reply = self.command("TTL", key, db=db)
        assert isinstance(reply, int)
        return reply

    def memory_usage(self, key: str, db: int = 0) -> int:
        reply = self.command("MEMORY", "USAGE", key, db=db)
        assert isinstance(reply, int)
        return reply


def _encode(args: tuple[str | int, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _read(stream: BinaryIO) -> Reply:
    line = stream.readline()
    if not line:
        raise RedisError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read(stream) for _ in range(count)]
    raise RedisError(f"unexpected reply {line!r}")


@contextmanager
def running_redis(directory: Path, password: str, timeout: float = 20) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).exists():
        raise RedisError("redis-server is missing: run `make test-deps` (Debian package redis-server)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = RedisServer(port, password, directory / "redis.log")
    process = subprocess.Popen(
        [REDIS_SERVER, str(CONFIG), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--requirepass", password, "--logfile", str(server.log), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if server.command("PING") == b"PONG":
                    break
            except (OSError, RedisError):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = server.log.read_text(errors="replace") if server.log.exists() else ""
                    raise RedisError(f"redis-server did not start:\n{log[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)
