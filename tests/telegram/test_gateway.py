"""The Telegram gateway end to end: real Updates through the real Application, a fake Bot API, and the real Rasa
server + action server (tests marked `rasa`) or a Rasa that is down, hanging or never called."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update

from bot.telegram.app import (
    ALLOWED_UPDATES,
    QUIET_LOGGERS,
    PerChatUpdateProcessor,
    PrivacyFilter,
    configure_logging,
    main,
)
from bot.telegram.config import ConfigError, TelegramConfig
from bot.telegram.handlers import MAX_INPUT
from devtools.stack import REPO, Stack, free_port
from tests.conftest import API_TOKEN
from tests.telegram.conftest import (
    BOT_USER,
    FIRST_NAME,
    LAST_NAME,
    TEXTS,
    TOKEN,
    USER_ID,
    USERNAME,
    BotApiServer,
    HarnessFactory,
)

QUESTION = "ik word gepest door mijn chef"
GROUP = {"id": -100123456789, "type": "supergroup", "title": "Team aankoop"}


def texts(sent: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in sent)


def callback_data(message: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- with the real Rasa server ---------------------------------------------------------------------------------------


@pytest.mark.rasa
async def test_start_gets_the_welcome_and_privacy_notice(servers: Stack, make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url)
    sent = await bot.say("/start")
    assert "Hallo" in texts(sent) and "naam" in texts(sent)
    assert all(m["parse_mode"] == "HTML" and m["chat_id"] == USER_ID for m in sent)
    assert bot.rasa.messages()[-1]["message"] == "/greet"
    assert "sendChatAction" in bot.api.methods()


@pytest.mark.rasa
async def test_question_gets_the_answer_with_an_informal_formal_keyboard(servers: Stack,
                                                                         make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url)
    sent = await bot.say(QUESTION)
    assert "vertrouwenspersoon" in texts(sent)
    assert callback_data(sent[-1]) == ["/kies_informeel", "/kies_formeel"]
    assert all(callback_data(m) == [] for m in sent[:-1])
    assert bot.rasa.messages()[-1] == {"sender": bot.sender, "message": QUESTION,
                                       "metadata": {"channel": "telegram"}}


@pytest.mark.rasa
async def test_pressing_the_formal_button_gets_the_prevention_adviser(servers: Stack,
                                                                      make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url)
    question = (await bot.say(QUESTION))[-1]
    sent = await bot.press("/kies_formeel", on=question)
    assert "formeel verzoek" in texts(sent)
    assert "Je kan terecht bij de preventieadviseur" in texts(sent)
    assert bot.rasa.messages()[-1]["message"] == "/kies_formeel"
    assert "answerCallbackQuery" in bot.api.methods()
    [edit] = [params for method, params in bot.api.calls if method == "editMessageReplyMarkup"]
    assert "reply_markup" not in edit  # the keyboard of the answered question is removed


@pytest.mark.rasa
async def test_melden_starts_the_report_and_opvolgen_asks_the_receipt_code(servers: Stack,
                                                                           make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url)
    intro = await bot.say("/melden")
    assert "7 dagen" in texts(intro) and "Telegram" in texts(intro)
    assert "Fraude en corruptie" in callback_data(intro[-1])
    assert bot.rasa.messages()[-1]["message"] == "/melding_starten"
    other = await make_harness(servers.rasa_url)
    assert "ontvangstcode" in texts(await other.say("/opvolgen"))
    assert other.rasa.messages()[-1]["message"] == "/opvolgen"
    helped = await make_harness(servers.rasa_url)
    assert "geschenken" in texts(await helped.say("/help"))
    assert helped.rasa.messages()[-1]["message"] == "/help"


@pytest.mark.rasa
async def test_stop_resets_an_open_report(servers: Stack, make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url)
    await bot.say("/melden")
    await bot.say("Fraude en corruptie")
    await bot.say("Mijn ploegchef verkoopt inbeslaggenomen fietsen. TG-STOP-42")
    assert tracker(servers, bot.sender)["active_loop"].get("name") == "report_form"
    stopped = await bot.say("/stop")
    assert "TG-STOP-42" not in str(tracker(servers, bot.sender, "ALL")), "/stop forgets what was said before it"
    assert texts(stopped) == TEXTS["forgotten"]
    assert bot.rasa.messages()[-1]["message"] == "/restart"
    assert not tracker(servers, bot.sender)["active_loop"]
    after = await bot.say(QUESTION)
    assert after[0]["text"].startswith("Pesten is nooit oké") and "Waarover gaat je melding" not in texts(after)
    assert callback_data(after[-1]) == ["/kies_informeel", "/kies_formeel"]


@pytest.fixture
def privacy_filter(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[pytest.LogCaptureFixture], None]]:
    """Put the PrivacyFilter on pytest's capture handler for one test (pytest reuses that handler afterwards)."""
    added: list[logging.Filter] = []

    def add(capture: pytest.LogCaptureFixture) -> None:
        added.append(PrivacyFilter([TOKEN]))
        capture.handler.addFilter(added[-1])

    yield add
    for item in added:
        caplog.handler.removeFilter(item)


def tracker(servers: Stack, sender: str, include_events: str = "AFTER_RESTART") -> dict[str, Any]:
    response = httpx.get(f"{servers.rasa_url}/conversations/{sender}/tracker",
                         params={"token": API_TOKEN, "include_events": include_events}, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.mark.rasa
async def test_next_message_works_again_when_rasa_is_back(servers: Stack, make_harness: HarnessFactory) -> None:
    bot = await make_harness(servers.rasa_url, fail_first=1)
    assert texts(await bot.say(QUESTION)) == TEXTS["unavailable"]
    assert "vertrouwenspersoon" in texts(await bot.say(QUESTION))


@pytest.mark.rasa
async def test_no_telegram_id_or_name_reaches_rasa_or_the_logs(servers: Stack, make_harness: HarnessFactory,
                                                               caplog: pytest.LogCaptureFixture,
                                                               privacy_filter: Callable[..., None]) -> None:
    privacy_filter(caplog)  # what configure_logging puts on the real handler
    for name in ("", "telegram", "httpx", "httpcore", "bot"):  # every logger at DEBUG
        caplog.set_level(logging.DEBUG, logger=name)
    bot = await make_harness(servers.rasa_url)
    await bot.say("/start")
    question = (await bot.say(QUESTION))[-1]
    await bot.press("/kies_formeel", on=question)
    await bot.say("/stop")

    forwarded = b"\n".join(bot.rasa.bodies).decode()
    assert bot.rasa.messages() and all(m["sender"] == bot.sender for m in bot.rasa.messages())
    assert all(m["metadata"] == {"channel": "telegram"} for m in bot.rasa.messages())
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "telegram.ext.ExtBot" in {r.name for r in caplog.records}  # PTB's debug logging was captured ...
    assert bot.api.sent()[0]["chat_id"] == USER_ID  # ... while it handled the raw id
    assert bot.sender in logs  # our logs name the pseudonym
    for secret in (str(USER_ID), USERNAME, FIRST_NAME, LAST_NAME):
        assert secret not in forwarded
        assert secret not in logs
    for private in (QUESTION, TOKEN):
        assert private not in logs
    for log in (servers.rasa_log, servers.actions_log):
        assert str(USER_ID) not in log.read_text(errors="replace")


@pytest.mark.rasa
def test_python_m_bot_telegram_polls_and_logs_nothing_private(servers: Stack) -> None:
    """The real process (`python -m bot.telegram`, polling, production logging at DEBUG) against a local Bot API."""
    with BotApiServer() as api:
        api.updates.put({"update_id": 1, "message": {
            "message_id": 1, "date": int(time.time()), "text": QUESTION,
            "chat": {"id": USER_ID, "type": "private", "first_name": FIRST_NAME, "username": USERNAME},
            "from": {"id": USER_ID, "is_bot": False, "first_name": FIRST_NAME, "last_name": LAST_NAME,
                     "username": USERNAME}}})
        env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
               "RASA_URL": servers.rasa_url, "SENDER_ID_SECRET": "p" * 40, "LOG_LEVEL": "DEBUG"}
        process = subprocess.Popen([sys.executable, "-m", "bot.telegram"], cwd=REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while not any("reply_markup" in m for m in api.sent()) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGINT)
            output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "vertrouwenspersoon" in texts(api.sent())
    assert callback_data(api.sent()[-1]) == ["/kies_informeel", "/kies_formeel"]
    assert {path.split("/")[1] for path, _, _ in api.calls} == {f"bot{TOKEN}"}
    assert "Telegram gateway starting in polling mode" in output and "DEBUG bot.telegram.handlers: Turn of" in output
    for private in (str(USER_ID), USERNAME, FIRST_NAME, LAST_NAME, QUESTION, TOKEN):
        assert private not in output


WEBHOOK_SECRET = "webhook-secret_Zq9xW4"


def wait_until(condition: Callable[[], bool], deadline: float) -> bool:
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def post_update(url: str, update: dict[str, Any], secret: str | None, deadline: float) -> httpx.Response:
    """POST an update to the webhook as Telegram does; retried only while nothing listens there yet."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    while True:
        try:
            return httpx.post(url, json=update, headers=headers, timeout=5, trust_env=False)
        except httpx.ConnectError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


@pytest.mark.rasa
def test_python_m_bot_telegram_in_webhook_mode(servers: Stack, tmp_path: Path) -> None:
    """The real process in webhook mode behind a reverse proxy: it registers the public https URL with the Bot API,
    listens on a local port, accepts only updates carrying the secret token, and stops cleanly on SIGTERM."""
    port, path = free_port(), "telegram/hook"
    public_url, local_url = f"https://bot.example.org/{path}", f"http://127.0.0.1:{port}/{path}"

    def update(update_id: int, text: str) -> dict[str, Any]:
        entities = [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else []
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(time.time()), "text": text, "entities": entities,
            "chat": {"id": USER_ID, "type": "private", "first_name": FIRST_NAME, "username": USERNAME},
            "from": {"id": USER_ID, "is_bot": False, "first_name": FIRST_NAME, "last_name": LAST_NAME,
                     "username": USERNAME}}}

    with BotApiServer() as api, (tmp_path / "gateway.stderr").open("w+") as stderr:
        env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
               "RASA_URL": servers.rasa_url, "SENDER_ID_SECRET": "p" * 40, "LOG_LEVEL": "DEBUG",
               "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": public_url, "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
               "TELEGRAM_WEBHOOK_PORT": str(port), "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
        process = subprocess.Popen([sys.executable, "-m", "bot.telegram"], cwd=REPO, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 25
            assert wait_until(lambda: bool(api.called("setWebhook")) or process.poll() is not None, deadline)
            [hook] = api.called("setWebhook")
            assert (hook["url"], hook["secret_token"], hook["allowed_updates"]) == \
                (public_url, WEBHOOK_SECRET, ALLOWED_UPDATES)
            assert post_update(local_url, update(1, "/privacy"), "wrong-secret", deadline).status_code == 403
            assert post_update(local_url, update(2, "/privacy"), None, deadline).status_code == 403
            assert post_update(local_url, update(3, "hallo"), WEBHOOK_SECRET, deadline).status_code == 200
            assert wait_until(lambda: "naam" in texts(api.sent()), deadline), api.sent()
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
        stderr.seek(0)
        output = stderr.read()
    assert returncode == 0, output
    assert "Hallo" in texts(api.sent()) and all(m["chat_id"] == USER_ID for m in api.sent())
    assert html(TEXTS["privacy"]) not in texts(api.sent())  # the rejected updates were not handled
    assert "getUpdates" not in {method for _, method, _ in api.calls}
    assert {path.split("/")[1] for path, _, _ in api.calls} == {f"bot{TOKEN}"}
    assert "Telegram gateway starting in webhook mode" in output and "DEBUG bot.telegram.handlers: Turn of" in output
    for private in (str(USER_ID), USERNAME, FIRST_NAME, LAST_NAME, TOKEN, WEBHOOK_SECRET):
        assert private not in output


# --- without Rasa: down, hanging, or never asked ---------------------------------------------------------------------


async def test_rasa_down_gets_the_unavailable_text(closed_port_url: str, make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    assert texts(await bot.say(QUESTION)) == TEXTS["unavailable"]
    assert texts(await bot.say("/stop")) == TEXTS["unavailable"]  # not 'forgotten' when nothing was reset
    assert texts(await bot.say(QUESTION)) == TEXTS["unavailable"]  # no crash, every message answered


async def test_slow_rasa_times_out_to_the_unavailable_text(silent_server_url: str,
                                                           make_harness: HarnessFactory) -> None:
    bot = await make_harness(silent_server_url, rasa_timeout=0.3)
    assert texts(await bot.say(QUESTION)) == TEXTS["unavailable"]


async def test_rate_limit_is_told_once_per_window(closed_port_url: str, make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url, limit=2)
    answers = [texts(await bot.say("/privacy")) for _ in range(5)]
    assert answers == [html(TEXTS["privacy"])] * 2 + [TEXTS["rate_limited"], "", ""]
    assert not bot.rasa.bodies
    bot.clock.now += 61  # the window has passed
    assert texts(await bot.say("/privacy")) == html(TEXTS["privacy"])


async def test_group_chats_are_refused_and_nothing_reaches_rasa(closed_port_url: str,
                                                                make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    refused = TEXTS["group_refusal"]
    mention = "@integriteit_test_bot " + QUESTION
    assert texts(await bot.say(mention, chat=GROUP, entities=[{"type": "mention", "offset": 0, "length": 21}])) \
        == refused
    assert texts(await bot.say("/start", chat=GROUP)) == refused
    assert texts(await bot.say("/start@integriteit_test_bot", chat=GROUP)) == refused
    reply = {"message_id": 1, "date": 0, "chat": GROUP, "from": BOT_USER, "text": "eerder"}
    assert texts(await bot.say(QUESTION, chat=GROUP, reply_to_message=reply)) == refused
    assert await bot.say(QUESTION, chat=GROUP) == []  # group chatter not addressed to the bot
    assert await bot.say("/start@ander_bot", chat=GROUP) == []
    assert all(m["chat_id"] == GROUP["id"] for m in bot.api.sent())
    assert not bot.rasa.bodies


async def test_non_text_and_too_long_messages_are_not_forwarded(closed_port_url: str,
                                                                make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    voice = {"file_id": "AwAD", "file_unique_id": "AQAE", "duration": 3}
    assert texts(await bot.say(None, voice=voice)) == TEXTS["not_text"]
    # Photos and documents are evidence files (tests/telegram/test_files.py); one that Telegram cannot hand out
    # gets the Dutch "could not fetch" text, and nothing reaches Rasa either way.
    photo = [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    assert texts(await bot.say(None, photo=photo, caption="mijn chef")) == TEXTS["file_fetch_failed"]
    document = {"file_id": "BQAD", "file_unique_id": "AQAF", "file_name": "bewijs.pdf"}
    assert texts(await bot.say(None, document=document)) == TEXTS["file_fetch_failed"]
    long = "x" * (MAX_INPUT + 1)
    assert texts(await bot.say(long)) == TEXTS["too_long"].format(length=MAX_INPUT + 1, limit=MAX_INPUT)
    assert not bot.rasa.bodies


async def test_unknown_button_key_falls_back_to_the_button_title(closed_port_url: str,
                                                                 make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    old = {"text": "Kies", "reply_markup": {"inline_keyboard": [
        [{"text": "Formele procedure", "callback_data": "~0123456789abcdef01234567"}]]}}
    assert texts(await bot.press("~0123456789abcdef01234567", on=old)) == TEXTS["unavailable"]
    assert bot.rasa.messages()[-1]["message"] == "Formele procedure"
    assert "editMessageReplyMarkup" not in bot.api.methods()  # kept: the press can be tried again


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB
async def test_flood_control_and_network_errors_are_retried(closed_port_url: str,
                                                            make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    bot.api.fail_next("sendMessage", 429, retry_after=7)
    assert texts(await bot.say("/privacy")) == html(TEXTS["privacy"])
    assert bot.api.methods().count("sendMessage") == 2 and bot.sleeps == [7.0]
    bot.api.fail_next("sendMessage", 502, times=2)
    assert texts(await bot.say("/privacy")) == html(TEXTS["privacy"])
    assert bot.sleeps == [7.0, 0.5, 1.0]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB
async def test_sending_gives_up_after_bounded_tries_without_crashing(closed_port_url: str,
                                                                      make_harness: HarnessFactory,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    bot = await make_harness(closed_port_url)
    bot.api.fail_next("sendMessage", 429, times=3, retry_after=1)
    assert await bot.say("/privacy") == []
    assert bot.api.methods().count("sendMessage") == 3
    assert "Could not deliver a reply" in caplog.text and "RetryAfter" in caplog.text
    bot.api.fail_next("sendMessage", 400)  # a bad request is not retried
    await bot.say("/privacy")
    assert bot.api.methods().count("sendMessage") == 4
    assert texts(await bot.say("/privacy")) == html(TEXTS["privacy"])


async def test_unknown_command_gets_the_help(closed_port_url: str, make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    await bot.say("/onbekend iets")
    assert [m["message"] for m in bot.rasa.messages()] == ["/help"]


# --- plumbing ---------------------------------------------------------------------------------------------------------


async def test_updates_of_one_chat_run_in_order_and_chats_run_concurrently() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=8)
    events: list[str] = []
    release = asyncio.Event()

    def update(chat_id: int, n: int) -> Update:
        return Update.de_json({"update_id": n, "message": {"message_id": n, "date": 0, "text": "x",
                                                           "chat": {"id": chat_id, "type": "private"}}}, None)

    async def work(name: str, wait: bool) -> None:
        events.append(f"start {name}")
        if wait:
            await release.wait()
        events.append(f"end {name}")

    slow = asyncio.create_task(processor.process_update(update(1, 1), work("a1", True)))
    queued = asyncio.create_task(processor.process_update(update(1, 2), work("a2", False)))
    await asyncio.wait_for(processor.process_update(update(2, 3), work("b1", False)), timeout=2)
    assert events == ["start a1", "start b1", "end b1"]  # chat 2 was not held up by chat 1
    release.set()
    await asyncio.gather(slow, queued)
    assert events[3:] == ["end a1", "start a2", "end a2"]


async def test_application_wiring(closed_port_url: str, make_harness: HarnessFactory) -> None:
    bot = await make_harness(closed_port_url)
    assert isinstance(bot.application.update_processor, PerChatUpdateProcessor)
    assert bot.application.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"  # TELEGRAM_API_BASE_URL


def test_configure_logging_filters_and_quiets_libraries() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET_LOGGERS}
    try:
        handler = configure_logging("DEBUG", hidden=[TOKEN])
        assert root.handlers == [handler] and root.level == logging.DEBUG
        assert any(isinstance(f, PrivacyFilter) for f in handler.filters)
        assert all(logging.getLogger(n).level == logging.WARNING for n in ("httpx", "httpcore", "telegram"))
    finally:
        root.handlers[:], level, levels = saved
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)


def test_privacy_filter_withholds_library_arguments_and_the_token(caplog: pytest.LogCaptureFixture,
                                                                 privacy_filter: Callable[..., None]) -> None:
    privacy_filter(caplog)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("telegram.Bot").debug("Calling %s with %s", "sendMessage", {"chat_id": USER_ID})
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("bot.telegram.handlers").info("Rate limit reached for %s", "telegram-abc")
    try:
        raise ValueError(f"chat {USER_ID}")
    except ValueError:
        logging.getLogger("telegram.ext.Updater").exception("Exception happened while polling")
    assert str(USER_ID) not in caplog.text and TOKEN not in caplog.text
    assert "Rate limit reached for telegram-abc" in caplog.text
    assert "ValueError (message withheld)" in caplog.text


def test_config_from_the_environment() -> None:
    config = TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert (config.mode, config.rasa_url, config.profile, config.rasa_timeout) == \
        ("polling", "http://127.0.0.1:5005", None, 15.0)
    assert TOKEN not in repr(config)
    hook = TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook",
                                    "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
                                    "TELEGRAM_WEBHOOK_PORT": "9000", "INTEGRITY_PROFILE": "federale-politie",
                                    "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/"})
    assert (hook.webhook_path, hook.webhook_port, hook.profile, hook.api_base_url) == \
        ("telegram/hook", 9000, "federale-politie", "http://127.0.0.1:8081")


WITH_TOKEN = {"TELEGRAM_BOT_TOKEN": TOKEN}


@pytest.mark.parametrize(("env", "message"), [
    ({}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "geheim"}, "does not look like a bot token"),
    ({**WITH_TOKEN, "TELEGRAM_MODE": "push"}, "TELEGRAM_MODE must be 'polling' or 'webhook'"),
    ({**WITH_TOKEN, "TELEGRAM_MODE": "webhook"}, "needs TELEGRAM_WEBHOOK_URL"),
    ({**WITH_TOKEN, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/x"},
     "must be an https URL"),
    ({**WITH_TOKEN, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org:9999/x"},
     "only delivers"),
    ({**WITH_TOKEN, "TELEGRAM_WEBHOOK_PORT": "http"}, "TELEGRAM_WEBHOOK_PORT must be a port number"),
    ({**WITH_TOKEN, "RASA_URL": "localhost:5005"}, "RASA_URL must be an http"),
    ({**WITH_TOKEN, "INTEGRITY_PROFILE": "gemeente-nergens"}, "not a known organisation profile"),
    ({**WITH_TOKEN, "LOG_LEVEL": "chatty"}, "LOG_LEVEL must be one of"),
])
def test_bad_config_gets_a_clear_operator_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        TelegramConfig.from_env(env)
    assert TOKEN not in str(error.value)


def test_main_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main() == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err



def test_webhook_mode_without_webhook_support_refuses_to_start(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tornado" else find_spec(name))
    for name, value in {**WITH_TOKEN, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
                        "SENDER_ID_SECRET": "s" * 40}.items():
        monkeypatch.setenv(name, value)
    assert main() == 2
    assert "python-telegram-bot[webhooks]" in capsys.readouterr().err
