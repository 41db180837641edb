"""Rasa replies → Telegram messages: escaping, splitting, keyboards, long callback payloads."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.rasa_client import BotReply
from bot.telegram.formatting import MAX_CALLBACK_BYTES, MAX_TEXT, PayloadStore, button_title, escape, render, split_text


def test_html_special_characters_are_escaped() -> None:
    assert escape('<b>baas</b> & "collega\'s"') == '&lt;b&gt;baas&lt;/b&gt; &amp; "collega\'s"'
    [message] = render([BotReply("Tip: 3 < 5 & 7 > 2 <script>")], PayloadStore())
    assert message.html == "Tip: 3 &lt; 5 &amp; 7 &gt; 2 &lt;script&gt;"
    assert message.keyboard is None


def test_short_text_is_one_piece() -> None:
    assert split_text("Hallo!\nWaarmee kan ik je helpen?") == ["Hallo!\nWaarmee kan ik je helpen?"]


def test_long_text_is_split_at_paragraphs_then_lines() -> None:
    first, second, third = "a" * 3000, "b" * 2000, "c" * 1500
    pieces = split_text(f"{first}\n\n{second}\n{third}")
    assert pieces == [first, f"{second}\n{third}"]
    pieces = split_text(f"{first}\n{second}\n{third}")
    assert pieces == [first, f"{second}\n{third}"]


def test_text_without_line_breaks_is_split_at_spaces_then_hard() -> None:
    words = " ".join(["woord"] * 2000)  # 11999 characters
    pieces = split_text(words)
    assert all(len(p) <= MAX_TEXT and not p.startswith(" ") and not p.endswith(" ") for p in pieces)
    assert " ".join(pieces) == words
    blob = "x" * 9000
    assert [len(p) for p in split_text(blob)] == [MAX_TEXT, MAX_TEXT, 9000 - 2 * MAX_TEXT]


def test_split_counts_escaped_length_and_utf16() -> None:
    pieces = split_text("&" * 2000)  # each becomes '&amp;': 5 characters after escaping
    assert all(len(escape(p)) <= MAX_TEXT for p in pieces) and "".join(pieces) == "&" * 2000
    emoji = split_text("🙂" * 3000)  # 2 UTF-16 code units each
    assert [len(p) for p in emoji] == [2048, 952]


def test_split_never_breaks_an_escape_sequence() -> None:
    text = ("x" * 4093 + " <&> ") * 2
    for message in render([BotReply(text)], PayloadStore()):
        assert len(message.html) <= MAX_TEXT
        assert "&" not in message.html.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "")


def test_buttons_become_an_inline_keyboard_under_the_last_piece() -> None:
    reply = BotReply("x" * 5000, [{"title": "Eerst informeel praten", "payload": "/kies_informeel"},
                                  {"title": "Formele procedure", "payload": "/kies_formeel"}])
    messages = render([BotReply("Eerst dit."), reply], PayloadStore())
    assert [m.keyboard is None for m in messages] == [True, True, False]
    keyboard = messages[-1].keyboard
    assert isinstance(keyboard, InlineKeyboardMarkup)
    assert [(b.text, b.callback_data) for row in keyboard.inline_keyboard for b in row] == [
        ("Eerst informeel praten", "/kies_informeel"), ("Formele procedure", "/kies_formeel")]


def test_buttons_without_text_join_the_previous_message() -> None:
    messages = render([BotReply("Kies:"), BotReply("", [{"title": "Ja", "payload": "/ja"}])], PayloadStore())
    assert len(messages) == 1 and messages[0].keyboard is not None
    assert render([BotReply("  ")], PayloadStore()) == []


def test_long_payloads_get_a_short_key_that_maps_back() -> None:
    store = PayloadStore()
    long_payload = "Preventieadviseur psychosociale aspecten van de Gemeenschappelijke Dienst (GDPB) – é"
    assert len(long_payload.encode()) > MAX_CALLBACK_BYTES
    data = store.callback_data(long_payload)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and data != long_payload
    assert store.payload(data) == long_payload
    assert store.callback_data(long_payload) == data  # stable
    assert store.callback_data("/kies_formeel") == "/kies_formeel"
    assert store.payload("/kies_formeel") == "/kies_formeel"
    exactly_64 = "é" * 32
    assert store.callback_data(exactly_64) == exactly_64


def test_payload_that_looks_like_a_key_is_mapped_too() -> None:
    store = PayloadStore()
    data = store.callback_data("~kort")
    assert data != "~kort" and store.payload(data) == "~kort"


def test_unknown_key_and_bounded_memory() -> None:
    store = PayloadStore(max_entries=2)
    keys = [store.callback_data(f"{i} " + "lang " * 20) for i in range(3)]
    assert store.payload(keys[0]) is None  # dropped, least recently used
    assert store.payload(keys[2]) is not None
    assert store.payload("~000000000000000000000000") is None


def test_button_title_is_the_fallback_for_an_unknown_key() -> None:
    keyboard = render([BotReply("Kies", [{"title": "Formele procedure", "payload": "x" * 80}])],
                      PayloadStore())[0].keyboard
    data = keyboard.inline_keyboard[0][0].callback_data
    assert button_title(keyboard, data) == "Formele procedure"
    assert button_title(keyboard, "other") is None and button_title(None, data) is None
