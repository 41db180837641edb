"""The shared secret between the Rasa server and the action server (no Sanic, no Rasa: cheap to import).

The Rasa server sends it with every action call as `Authorization: Bearer <token>` (endpoints.yml:
`action_endpoint.headers`); the action server (`actions.server`) refuses every call without it. It comes from
`ACTION_SERVER_TOKEN`, else from the file named by `ACTION_SERVER_TOKEN_FILE` (deploy/: a compose secret).
`make run` generates one into var/action_server.token (mode 0600) on first start (`load_or_create`).
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

TOKEN_ENV = "ACTION_SERVER_TOKEN"
TOKEN_FILE_ENV = "ACTION_SERVER_TOKEN_FILE"
MIN_CHARS = 32
SCHEME = "Bearer "


class TokenMissing(RuntimeError):
    """No usable token: the action server must not start without one (English, for operators)."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _checked(token: str, source: str) -> str:
    token = token.strip()
    if len(token) < MIN_CHARS:
        raise TokenMissing(f"{source} is too short ({len(token)} characters): use at least {MIN_CHARS} random "
                           "characters")
    if not token.isascii() or any(char.isspace() for char in token):
        raise TokenMissing(f"{source} must be printable ASCII without spaces (it goes into an HTTP header)")
    return token


def from_env(environ: Mapping[str, str] | None = None) -> str:
    """The configured token; TokenMissing (with what to set) when there is none or it is too weak."""
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV):
        return _checked(env[TOKEN_ENV], TOKEN_ENV)
    path = env.get(TOKEN_FILE_ENV)
    if path:
        try:
            return _checked(Path(path).read_text(encoding="utf-8"), f"the file {path} ({TOKEN_FILE_ENV})")
        except OSError as exc:
            raise TokenMissing(f"{TOKEN_FILE_ENV} points to {path}, which cannot be read ({exc.strerror})") from None
    raise TokenMissing(f"no action server token: set {TOKEN_ENV} or {TOKEN_FILE_ENV} (the same value as the Rasa "
                       f"server's {TOKEN_ENV}; `make run` creates var/action_server.token)")


def load_or_create(path: Path) -> str:
    """The token in `path`, created (mode 0600, directory 0700) if it does not exist yet."""
    try:
        return _checked(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = new_token()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was first: use theirs
        return _checked(path.read_text(encoding="utf-8"), str(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
    return token


def header_value(token: str) -> str:
    return SCHEME + token


def matches(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token`, compared in constant time."""
    given = (authorization or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, header_value(token).encode("ascii"))
