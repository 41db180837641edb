"""What kind of file an upload is, decided on its bytes (magic numbers and zip contents), never on its name.

Accepted: JPEG, PNG, PDF, DOCX, XLSX, ODT and plain UTF-8 text. Office files are zip archives: they are accepted
only with the right content type inside (`[Content_Types].xml` for OOXML, the `mimetype` member for ODF), and only
when their declared uncompressed size and compression ratio are sane (a zip bomb is refused before anything is
unpacked). Pure Python, no I/O: the bytes are in memory.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from integrity.reports.errors import FileRefused

MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # the whole archive, as declared in its central directory
MAX_RATIO = 100  # declared uncompressed / compressed, per member
MAX_MEMBERS = 2000
RATIO_FLOOR_BYTES = 1024 * 1024  # members smaller than this may compress as well as they like


@dataclass(frozen=True)
class FileKind:
    media_type: str
    extension: str
    label: str  # Dutch, for the reporter and the back office


JPEG = FileKind("image/jpeg", "jpg", "foto (JPEG)")
PNG = FileKind("image/png", "png", "afbeelding (PNG)")
PDF = FileKind("application/pdf", "pdf", "PDF-document")
DOCX = FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
                "Word-document")
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel-rekenblad")
ODT = FileKind("application/vnd.oasis.opendocument.text", "odt", "OpenDocument-tekst")
TEXT = FileKind("text/plain", "txt", "tekstbestand")
KINDS = {kind.media_type: kind for kind in (JPEG, PNG, PDF, DOCX, XLSX, ODT, TEXT)}

REFUSED_TYPE = ("Dit soort bestand kan ik niet aannemen. Je kan foto's (JPEG of PNG), PDF-, Word-, Excel-, "
                "OpenDocument- en tekstbestanden toevoegen.")
BROKEN_ZIP = "Dit document is beschadigd of onvolledig. Sla het opnieuw op en probeer het nog eens."
ZIP_BOMB = ("Dit document is ongewoon groot als het uitgepakt wordt en kan ik daarom niet aannemen. Sla het "
            "opnieuw op (of als PDF) en probeer het nog eens.")

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}


def check_zip(archive: zipfile.ZipFile) -> None:
    """FileRefused for an archive whose declared sizes would unpack too far (a zip bomb)."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise FileRefused(f"zip with {len(members)} members", ZIP_BOMB)
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(1, member.compress_size):
            raise FileRefused(f"zip member compresses {member.file_size // max(1, member.compress_size)}:1",
                              ZIP_BOMB)
    if total > MAX_UNPACKED_BYTES:
        raise FileRefused(f"zip unpacks to {total} bytes", ZIP_BOMB)


def read_member(archive: zipfile.ZipFile, name: str, limit: int = 1024 * 1024) -> bytes | None:
    """A small member's bytes (at most `limit`, read in bounded steps), or None if it is not there."""
    try:
        with archive.open(name) as handle:
            data = handle.read(limit + 1)
    except KeyError:
        return None
    if len(data) > limit:
        raise FileRefused(f"zip member {name} is over {limit} bytes", ZIP_BOMB)
    return data


def _office_kind(data: bytes) -> FileKind:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused(f"not a readable zip ({type(exc).__name__})", BROKEN_ZIP) from None
    with archive:
        check_zip(archive)
        try:
            mimetype = read_member(archive, "mimetype", 200)
            if mimetype is not None and mimetype.strip() == ODT.media_type.encode():
                return ODT
            types = read_member(archive, "[Content_Types].xml")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise FileRefused(f"zip member unreadable ({type(exc).__name__})", BROKEN_ZIP) from None
    if types is not None:
        for content_type, kind in _OOXML_MAIN.items():
            if content_type.encode() in types:
                return kind
    raise FileRefused("zip without an accepted office content type", REFUSED_TYPE)


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\n\r\t\f" for ch in text.lstrip("\ufeff"))


def sniff(data: bytes) -> FileKind:
    """The accepted kind of `data`, or FileRefused (with a Dutch message) for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    if data and _is_text(data):
        return TEXT
    raise FileRefused(f"unrecognised bytes {data[:8].hex()}", REFUSED_TYPE)
