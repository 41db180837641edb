"""Photos and documents on Telegram become waiting evidence files of the sender's chat (real report store)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.telegram.files import FileIntake
from integrity.reports import evidence
from tests import evidence_samples as samples
from tests.telegram.conftest import TEXTS, HarnessFactory


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [html.unescape(m["text"]) for m in sent]


def document(file_id: str, **extra: Any) -> dict[str, Any]:
    return {"document": {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": "foto.jpg", **extra}}


async def test_a_document_photo_loses_its_gps_and_waits_for_the_report(
        closed_port_url: str, make_harness: HarnessFactory, sessions: sessionmaker[Session]) -> None:
    bot = await make_harness(closed_port_url, files=FileIntake(TEXTS, sessions))
    bot.api.files["F1"] = samples.photo_with_gps()
    replies = texts(await bot.say(None, **document("F1"), caption="de foto van de factuur"))
    assert replies[0].startswith("Bestand ontvangen: foto (JPEG)") and "verwijderd: GPS-locatie" in replies[0]
    assert replies[1:] == [TEXTS["file_keep_hint"].replace('\\"', '"'), TEXTS["file_caption_ignored"]]
    with sessions.begin() as session:
        waiting = evidence.pending(session, bot.sender)
        assert [f.metadata_summary.split(",")[0] for f in waiting] == ["verwijderd: GPS-locatie"]
    assert not bot.rasa.bodies  # a file is no message for the assistant

    bot.api.files["F2"] = samples.photo_with_gps()
    kept = texts(await bot.say(None, **document("F2"), caption="Metadata behouden"))
    assert "behouden op jouw vraag: GPS-locatie" in kept[0] and len(kept) == 1
    bot.api.files["P1"] = samples.png_with_text()
    photo = [{"file_id": "P1", "file_unique_id": "uP1", "width": 10, "height": 10}]
    assert texts(await bot.say(None, photo=photo))[1] == TEXTS["file_photo_note"]
    with sessions.begin() as session:
        assert len(evidence.pending(session, bot.sender)) == 3


async def test_files_that_cannot_be_fetched_or_kept_get_a_dutch_message_and_lose_nothing(
        closed_port_url: str, make_harness: HarnessFactory, sessions: sessionmaker[Session]) -> None:
    bot = await make_harness(closed_port_url, files=FileIntake(TEXTS, sessions))
    bot.api.files["OK"] = b"Een eerste verslag."
    assert texts(await bot.say(None, **document("OK")))[0].startswith("Bestand ontvangen: tekstbestand")
    # Not fetchable: getFile refused, or the download breaks off.
    assert texts(await bot.say(None, **document("MISSING"))) == [TEXTS["file_fetch_failed"]]
    bot.api.files["BROKEN"] = b"wordt nooit geleverd"
    bot.api.broken_downloads.add("BROKEN")
    assert texts(await bot.say(None, **document("BROKEN"))) == [TEXTS["file_fetch_failed"]]
    # Too big as announced: not even downloaded.
    big = texts(await bot.say(None, **document("HUGE", file_size=evidence.MAX_FILE_BYTES + 1)))
    assert big == ["Dit bestand is te groot. Een bestand mag hoogstens 10 MB zijn."]
    assert ("getFile", {"file_id": "HUGE"}) not in bot.api.calls
    for file_id, data, words in (("BOMB", samples.zip_bomb(), "ongewoon groot"),
                                 ("EXE", samples.exe(), "kan ik niet aannemen"),
                                 ("HALF", samples.broken_jpeg(), "beschadigd")):
        bot.api.files[file_id] = data
        assert words in texts(await bot.say(None, **document(file_id)))[0]
    with sessions.begin() as session:
        assert len(evidence.pending(session, bot.sender)) == 1  # only the good one, still there


async def test_the_database_down_is_told_and_nothing_is_lost(closed_port_url: str, make_harness: HarnessFactory,
                                                              tmp_path: Path) -> None:
    from integrity.reports import db

    broken = db.make_sessionmaker(db.make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"))  # never migrated
    bot = await make_harness(closed_port_url, files=FileIntake(TEXTS, broken))
    bot.api.files["OK"] = b"verslag"
    assert texts(await bot.say(None, **document("OK"))) == [TEXTS["file_storage_down"]]
