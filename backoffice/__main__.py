"""Run the back office web app: `python -m backoffice --host 127.0.0.1 --port 8000`.

uvicorn's access log is off by default: it would write every client IP address and path to the log, and the
follow-up page promises not to keep IP addresses.

Proxy headers (X-Forwarded-For, X-Forwarded-Proto) are ignored unless the proxy addresses are configured:
`--forwarded-allow-ips` or FORWARDED_ALLOW_IPS (comma-separated addresses or networks; deploy/compose.yaml sets
nginx's). Off by default, so that nobody on the same host can choose their client address (and so their own
per-IP limits) by sending the header.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn

from backoffice.app import create_app

FORWARDED_ENV = "FORWARDED_ALLOW_IPS"


def proxy_options(configured: str | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """uvicorn's proxy settings: trusted only from the addresses given (flag, else FORWARDED_ALLOW_IPS), else off.

    uvicorn itself would trust 127.0.0.1 when nothing is given (and read FORWARDED_ALLOW_IPS on its own); this
    always passes both settings explicitly.
    """
    env = os.environ if environ is None else environ
    addresses = ",".join(part.strip() for part in (configured or env.get(FORWARDED_ENV, "")).split(",")
                         if part.strip())
    if not addresses:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    if "*" in addresses.split(","):
        raise SystemExit(f"{FORWARDED_ENV}: '*' would trust X-Forwarded-For from anyone; name the proxy addresses")
    return {"proxy_headers": True, "forwarded_allow_ips": addresses}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backoffice", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--forwarded-allow-ips", default=None,
        help=f"addresses of reverse proxies whose X-Forwarded-For/-Proto are trusted (default: {FORWARDED_ENV}, "
             "else none: the headers are ignored). Behind a proxy, set it to the proxy's address, or all reporters "
             "share one follow-up throttle.",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request with the client IP address")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        **proxy_options(args.forwarded_allow_ips),
        access_log=args.access_log,
        log_level=args.log_level,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
