"""The action server: rasa-sdk's own Sanic app, with every call but /health refused without the Rasa server's token.

Run it as `python -m actions.server --actions actions --port 5055` (the same options as `python -m rasa_sdk`).
Only the Rasa server knows the token (`actions.internal_token`): a call without `Authorization: Bearer <token>`,
or with another token, gets 401 and an English warning in the log, before any action runs. So nobody who merely
reaches port 5055 can store a report or try receipt codes with made-up slots and sender ids. /health stays open
for the health checks; it tells nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from actions import internal_token

logger = logging.getLogger("actions.server")
OPEN_PATHS = frozenset({"/health"})


def require_token(app: Sanic, token: str) -> None:
    """Refuse every request but OPEN_PATHS that does not carry `token` (401, logged in English)."""

    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        header = request.headers.get("authorization")
        if internal_token.matches(header, token):
            return None
        reason = "no token" if not header else "a wrong token"
        logger.warning("Refused a call to %s %s from %s: %s (only the Rasa server may call the action server)",
                       request.method, request.path, request.ip, reason)
        return response.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})

    # Before rasa-sdk's own middleware (CORS) and any route.
    app.register_middleware(check_token, "request", priority=100)


def create_app(action_executor: ActionExecutor, token: str, **options: Any) -> Sanic:
    """rasa-sdk's app (`create_app_for_serve`) behind the token check; module level, so Sanic can pickle it."""
    app = create_app_for_serve(action_executor, **options)
    require_token(app, token)
    return app


def main(argv: list[str] | None = None) -> int:
    parser: argparse.ArgumentParser = create_argument_parser()
    args = parser.parse_args(argv)
    try:
        token = internal_token.from_env()
    except internal_token.TokenMissing as exc:
        print(f"action server: {exc}", file=sys.stderr)
        return 2
    if args.ssl_certificate or args.auto_reload or getattr(args, "grpc", False):
        print("action server: --ssl-certificate, --auto-reload and --grpc are not supported here", file=sys.stderr)
        return 2
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions or "actions")
    # The token goes to each worker inside the pickled factory, never through argv (which `ps` shows).
    loader = AppLoader(factory=partial(create_app, executor, token, cors_origins=args.cors,
                                       endpoints=args.endpoints))
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    logger.info("Action server (token required) on http://%s:%d", host, args.port)
    app.prepare(host=host, port=args.port, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
