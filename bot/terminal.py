"""A minimal terminal chat with the running assistant (`make shell`), through Rasa's REST channel.

Type a message; type the number of a button to press it; an empty line or Ctrl-D ends the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from bot.rasa_client import BotReply, RasaClient, RasaUnavailable

UNAVAILABLE = "Ik ben even niet bereikbaar. Probeer het zo opnieuw. Bij nood: bel 112."


def render(replies: list[BotReply]) -> list[dict[str, str]]:
    buttons: list[dict[str, str]] = []
    for reply in replies:
        print(f"bot> {reply.text}")
        for button in reply.buttons:
            buttons.append(button)
            print(f"     [{len(buttons)}] {button['title']}")
    return buttons


async def chat(url: str, profile: str | None) -> None:
    client = RasaClient(url)
    sender = "terminal-" + secrets.token_hex(8)
    metadata = {"profile": profile} if profile else None
    buttons: list[dict[str, str]] = []
    try:
        while True:
            try:
                text = input("jij> ").strip()
            except EOFError:
                break
            if not text:
                break
            if text.isdigit() and 0 < int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            try:
                buttons = render(await client.send(sender, text, metadata))
            except RasaUnavailable as exc:
                print(f"bot> {UNAVAILABLE}")
                print(f"(operator: {exc})", file=sys.stderr)
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    asyncio.run(chat(args.url, args.profile))


if __name__ == "__main__":
    main()
