"""The `bin/converse` contract (shared/contract/converse.md): whole conversations in, transcripts out.

A channel like the others: it starts its own Rasa server and action server on free ports (same model, rules,
forms, actions and profiles as the chat), with a throwaway report database and key pair, and talks to Rasa over
the REST channel. What a turn decided (topic, actors, emergency) is read from the tracker, where action_route
keeps it as metadata of its first bot message. Only transcripts go to stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from devtools.stack import Stack, StackError, prepare_reports, running_stack
from integrity.errors import DataFileError
from integrity.jsonlines import json_lines
from integrity.profiles import available_profiles
from integrity.settings import DEFAULT_PROFILE

logger = logging.getLogger("bin/converse")
TIMEOUT = 120.0


def read_conversations(lines: Iterable[str]) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Yield (conversation, error) per non-blank line; a bad line gets an error and no conversation."""
    profiles = set(available_profiles())
    for number, item, error in json_lines(lines):
        if error:
            yield None, error
            continue
        if not isinstance(item, dict) or not isinstance(item.get("turns"), list) or \
                not all(isinstance(t, str) for t in item["turns"]):
            yield None, f"line {number}: expected an object with 'turns', a list of texts"
            continue
        profile = item.get("profile", DEFAULT_PROFILE)
        if profile not in profiles:
            yield None, f"line {number}: unknown profile {profile!r} (known: {', '.join(sorted(profiles))})"
            continue
        yield item, None


def turn_result(text: str, messages: list[dict[str, Any]], events: list[dict[str, Any]]) -> dict[str, Any]:
    """One turn of the transcript: what the user sent, what the bot said, and what the turn decided."""
    decision = next((e["metadata"]["decision"] for e in events if e.get("event") == "bot"
                     and isinstance(e.get("metadata"), dict) and isinstance(e["metadata"].get("decision"), dict)),
                    None)
    buttons = [{"title": b.get("title", ""), "payload": b.get("payload", "")}
               for m in messages for b in m.get("buttons") or []]
    return {"text": text, "reply": "\n".join(m["text"] for m in messages if m.get("text")), "buttons": buttons,
            "topic": decision["topic"] if decision else None,
            "actors": list(decision["actors"]) if decision else [],
            "emergency": bool(decision and decision.get("emergency"))}


def events_of_last_turn(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return events[last_user + 1:]


class Conversation:
    def __init__(self, stack: Stack, token: str, client: httpx.Client, profile: str) -> None:
        self.stack, self.token, self.client, self.profile = stack, token, client, profile
        self.sender = "converse-" + uuid.uuid4().hex

    def say(self, text: str) -> dict[str, Any]:
        response = self.client.post(self.stack.webhook, json={"sender": self.sender, "message": text,
                                                              "metadata": {"profile": self.profile}})
        response.raise_for_status()
        tracker = self.client.get(f"{self.stack.rasa_url}/conversations/{self.sender}/tracker",
                                  params={"token": self.token})
        tracker.raise_for_status()
        return turn_result(text, response.json(), events_of_last_turn(tracker.json().get("events") or []))


def converse_all(lines: Iterable[str], stack: Stack, token: str, out: IO[str]) -> int:
    """Run every conversation fresh; returns the number of bad input lines."""
    bad = 0
    with httpx.Client(timeout=TIMEOUT) as client:
        for item, error in read_conversations(lines):
            if error or item is None:
                bad += 1
                logger.error("%s", error)
                out.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
                continue
            conversation = Conversation(stack, token, client, item.get("profile", DEFAULT_PROFILE))
            turns = [conversation.say(text) for text in item["turns"]]
            result = {k: v for k, v in item.items() if k != "turns"}
            result["turns"] = turns
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    return bad


@contextmanager
def private_stack(token: str) -> Iterator[Stack]:
    """Both servers with a report database and key pair of their own, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="converse-") as tmp:
        base = Path(tmp)
        env = {"DATABASE_URL": f"sqlite:///{base / 'reports.db'}", "INTEGRITY_KEY_DIR": str(base / "keys"),
               "INTEGRITY_KEY_PASSPHRASE": secrets.token_urlsafe(18), "INTEGRITY_ARGON2_PROFILE": "test"}
        os.environ.update(env)
        prepare_reports()
        with running_stack(base / "logs", extra_env=env, api_token=token) as stack:
            yield stack


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="bin/converse", description=__doc__).parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    token = secrets.token_urlsafe(24)
    try:
        with private_stack(token) as stack:
            bad = converse_all(sys.stdin, stack, token, sys.stdout)
    except (StackError, DataFileError) as exc:
        print(f"bin/converse: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"bin/converse: the Rasa server failed during a conversation ({exc})", file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
