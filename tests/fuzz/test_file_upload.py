"""Fuzz the evidence upload endpoints (`POST /chat/bestanden`, `POST /opvolgen/bestanden`) with generated files.

Bodies: random bytes, real sample files (a photo with GPS, a PDF with an author, a docx) cut off at a random point
or with random bytes overwritten, accepted magic numbers followed by noise, random zip archives, a zip bomb, and a
file just over the size limit; with the page's real token or a forged one, and either metadata choice.

Properties besides the common ones (tests.fuzz.checks, including "a refused request stores nothing"): every
answer is JSON with a Dutch `error` or the file's description; the only statuses are 200, 400, 403, 413 and 422;
an accepted file adds exactly one waiting file, whose stored bytes are of the type that was reported and, when
the reporter asked for it, an image without any EXIF.
"""

from __future__ import annotations

import io
import re
import zipfile

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot import pseudonym
from integrity.reports import crypto, evidence, filetypes
from integrity.reports.models import PendingFile
from tests import evidence_samples as samples
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import Body
from tests.fuzz.targets import endpoint as find_endpoint
from tests.fuzz.world import ANONYMOUS, World

CHAT_FILES = "POST /chat/bestanden"
FOLLOWUP_FILES = "POST /opvolgen/bestanden"
TOKEN = re.compile(r'data-token="([^"]+)"')
SAMPLES = [samples.photo_with_gps(), samples.pdf_with_author(), samples.docx_with_author(), samples.png_with_text()]
MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-1.4\n", b"PK\x03\x04"]
ALLOWED_STATUS = {200, 400, 403, 413, 422}


@st.composite
def damaged_sample(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def random_zip(draw: st.DrawFn) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if draw(st.booleans()):
            archive.writestr("[Content_Types].xml", samples.DOCX_TYPES)
        for name in draw(st.lists(st.sampled_from(["docProps/core.xml", "docProps/app.xml", "word/document.xml",
                                                   "mimetype", "meta.xml", "../../etc/passwd", "a" * 200]),
                                  max_size=4, unique=True)):
            archive.writestr(name, draw(st.binary(max_size=300)))
    return out.getvalue()


files = st.one_of(
    st.binary(max_size=2048),
    damaged_sample(),
    st.sampled_from(SAMPLES),
    st.builds(lambda magic, noise: magic + noise, st.sampled_from(MAGIC), st.binary(max_size=1024)),
    random_zip(),
    st.just(samples.zip_bomb()),
    st.just(b"a" * (evidence.MAX_FILE_BYTES + 1)),
    st.text(max_size=300).map(lambda text: text.encode("utf-8")),
)
sessions = st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)


def _waiting(world: World, owner: str) -> list[PendingFile]:
    with world.app.state.sessions() as session:
        return list(session.scalars(select(PendingFile).where(PendingFile.owner_hash == evidence._owner_hash(owner))))


def test_fuzz_chat_file_upload(world: World) -> None:
    endpoint = find_endpoint(CHAT_FILES)
    match = TOKEN.search(world.client.get("/chat").text)
    assert match
    real_token = match.group(1)

    @fuzz_settings(60)
    @given(data=files, session=sessions, keep=st.booleans(), forged=st.integers(0, 9))
    def run(data: bytes, session: str, keep: bool, forged: int) -> None:
        owner = pseudonym.sender_id(world.app.state.chat.secret, "web", session)
        before = len(_waiting(world, owner))
        headers = {"x-csrf-token": "vervalst" if forged == 0 else real_token, "x-chat-session": session,
                   "x-metadata": "behouden" if keep else "verwijderen", "content-type": "application/octet-stream"}
        body = Body(data, headers, "")
        response = world.exchange(endpoint, "/chat/bestanden", ANONYMOUS, body=body)
        assert response.status_code in ALLOWED_STATUS, response.text[:300]
        answer = response.json()
        after = _waiting(world, owner)
        if response.status_code != 200:
            assert set(answer) == {"error"} and len(after) == before
            return
        assert set(answer) == {"file", "waiting", "message", "token"} and answer["message"].startswith("Bestand")
        assert len(after) == before + 1
        stored = crypto.secretbox_decrypt(evidence._pending_key(owner), after[-1].content_encrypted)
        kind = filetypes.sniff(stored)
        assert kind.label == answer["file"]["label"] == filetypes.KINDS[after[-1].media_type].label
        if not keep and kind in (filetypes.JPEG, filetypes.PNG):
            from PIL import Image
            with Image.open(io.BytesIO(stored)) as image:
                assert dict(image.getexif()) == {}, answer

    run()
    outcomes = world.outcomes[CHAT_FILES]
    for status in (200, 403, 413, 422):  # the generated files reach every branch, not only the first refusal
        assert outcomes[f"{ANONYMOUS}:{status}"] > 0, dict(outcomes)


def test_fuzz_follow_up_file_upload_without_a_valid_report_token(world: World) -> None:
    endpoint = find_endpoint(FOLLOWUP_FILES)

    @fuzz_settings(20)
    @given(data=files, access=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=200),
           token=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=100))
    def run(data: bytes, access: str, token: str) -> None:
        body = Body(data, {"x-csrf-token": token, "x-toegang": access}, access + " " + token)
        response = world.exchange(endpoint, "/opvolgen/bestanden", ANONYMOUS, body=body)
        assert response.status_code in {400, 403, 413}, response.text[:300]

    run()
