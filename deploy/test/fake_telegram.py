"""A fake Telegram Bot API for the deployment test (standard library only; runs in the app image).

    python fake_telegram.py serve            # the API on :8081: records every call, answers like Telegram
    python fake_telegram.py send TEXT        # post one update to the registered webhook, print the bot's reply

`serve` answers getMe, setWebhook, sendMessage and the other methods the gateway calls, and records each call
(method and parameters) in /tmp/fake-telegram/calls.jsonl. `send` (run with `podman exec` in the same container)
reads the webhook URL and secret token that the gateway registered with setWebhook, posts a private message to
that URL over HTTPS (verified against the test certificate, FAKE_TELEGRAM_CA) as Telegram would, then waits for
the gateway's sendMessage calls to that chat and prints them as JSON. Exit 1 with a message when something is
missing or too slow.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STATE = Path("/tmp/fake-telegram")
CALLS = STATE / "calls.jsonl"
PORT = 8081
BOT = {"id": 700000001, "is_bot": True, "first_name": "Integriteit", "username": "integriteit_test_bot",
       "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("multipart/form-data"):
        boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
        fields: dict[str, Any] = {}
        for part in body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            if b'name="' in head:
                name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
                fields[name] = value.rstrip(b"\r\n-").decode(errors="replace")
        return fields
    return {key: values[-1] for key, values in urllib.parse.parse_qs(body.decode()).items()}


def result_for(method: str, params: dict[str, Any], count: int) -> Any:
    if method == "getMe":
        return BOT
    if method == "getWebhookInfo":
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    if method in ("sendMessage", "editMessageText"):
        chat_id = int(params.get("chat_id", 0))
        return {"message_id": 1000 + count, "date": int(time.time()), "from": BOT, "text": params.get("text", ""),
                "chat": {"id": chat_id, "type": "private", "first_name": "Test"}}
    return True


class Handler(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        method = self.path.rstrip("/").rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        params = parse_body(self.headers.get("Content-Type", ""), self.rfile.read(length))
        Handler.count += 1
        with CALLS.open("a") as out:
            out.write(json.dumps({"method": method, "params": params, "at": time.time()}) + "\n")
        body = json.dumps({"ok": True, "result": result_for(method, params, Handler.count)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        print(f"fake-telegram: {self.command} {self.path.split('/bot', 1)[0]}/bot<token>/"
              f"{self.path.rsplit('/', 1)[-1]}", flush=True)


def calls() -> list[dict[str, Any]]:
    if not CALLS.exists():
        return []
    return [json.loads(line) for line in CALLS.read_text().splitlines() if line.strip()]


def send(text: str, chat_id: int = 4242, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while not (hooks := [c for c in calls() if c["method"] == "setWebhook"]):
        if time.monotonic() > deadline:
            print("fake-telegram: the gateway never called setWebhook", file=sys.stderr)
            return 1
        time.sleep(0.5)
    hook = hooks[-1]["params"]
    url = urllib.parse.urlsplit(hook["url"])
    port = int(os.environ.get("FAKE_TELEGRAM_HTTPS_PORT", url.port or 443))
    target = f"https://{url.hostname}:{port}{url.path}"
    update_id = int(time.time() * 1000) % 2_000_000_000
    update = {"update_id": update_id, "message": {
        "message_id": update_id % 100000, "date": int(time.time()), "text": text,
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "nl"}}}
    context = ssl.create_default_context(cafile=os.environ.get("FAKE_TELEGRAM_CA"))
    request = urllib.request.Request(target, data=json.dumps(update).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": hook.get("secret_token", "")})
    posted = time.time()
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        status = response.status
    if status != 200:
        print(f"fake-telegram: the webhook answered {status}", file=sys.stderr)
        return 1
    while time.monotonic() < deadline:
        replies = [c["params"] for c in calls() if c["method"] == "sendMessage" and c["at"] >= posted
                   and int(c["params"].get("chat_id", 0)) == chat_id]
        if replies:
            time.sleep(1)  # a reply may come in several messages
            replies = [c["params"] for c in calls() if c["method"] == "sendMessage" and c["at"] >= posted
                       and int(c["params"].get("chat_id", 0)) == chat_id]
            print(json.dumps({"webhook": target, "status": status, "replies": replies}, ensure_ascii=False))
            return 0
        time.sleep(0.5)
    print("fake-telegram: no sendMessage from the gateway in time", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        STATE.mkdir(parents=True, exist_ok=True)
        print(f"fake-telegram: listening on :{PORT}", flush=True)
        ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
        return 0
    if len(argv) == 2 and argv[0] == "send":
        return send(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
