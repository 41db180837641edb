"""Run the back office web app: `python -m backoffice --host 127.0.0.1 --port 8000`.

uvicorn's access log is off by default: it would write every client IP address and path to the log, and the
follow-up page promises not to keep IP addresses.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from backoffice.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backoffice", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1",
        help="addresses of reverse proxies whose X-Forwarded-For is trusted for the client IP (default 127.0.0.1). "
             "Behind a proxy, set it to the proxy's address, or all reporters share one follow-up throttle.",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request with the client IP address")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=args.access_log,
        log_level=args.log_level,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
