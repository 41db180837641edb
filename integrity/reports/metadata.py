"""Metadata in evidence files: find it, and remove it when the reporter asks (the default).

- JPEG and PNG: decoded and re-encoded with Pillow, which drops EXIF (GPS position, camera, dates, software),
  XMP, comments and PNG text chunks. The EXIF orientation is applied first, so the picture still stands upright.
  A broken or truncated image is refused, whatever the choice.
- PDF: the document information (author, creator, producer, title, subject, keywords, dates) and the XMP
  metadata stream are removed with pypdf. A damaged or password-protected PDF is refused.
- DOCX and XLSX: `docProps/core.xml`, `app.xml` and `custom.xml` are replaced by empty property sets, ODT's
  `meta.xml` likewise, and every member's timestamp is reset (the zip is rewritten with the standard library).
  Comments and tracked changes inside the document body are not touched (docs/reporting.md says so).
- Plain text carries no metadata.

Every label is Dutch: the reporter sees "verwijderd: GPS-locatie, cameramodel" before the file is kept.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

from integrity.reports import filetypes
from integrity.reports.errors import FileRefused
from integrity.reports.filetypes import FileKind

MAX_PIXELS = 40_000_000
BROKEN_IMAGE = "Deze afbeelding is beschadigd of onvolledig. Probeer een andere foto of sla ze opnieuw op."
IMAGE_TOO_LARGE = "Deze afbeelding heeft te veel beeldpunten. Verklein ze en probeer het opnieuw."
BROKEN_PDF = "Dit PDF-document is beschadigd of onvolledig. Sla het opnieuw op en probeer het nog eens."
LOCKED_PDF = ("Dit PDF-document is met een wachtwoord beveiligd. Bewaar het zonder wachtwoord en probeer het "
              "opnieuw.")

_EXIF_LABELS = {  # EXIF tag -> what the reporter is told
    0x8825: "GPS-locatie", 0x010F: "cameramerk", 0x0110: "cameramodel", 0x0131: "software",
    0x0132: "datum en tijd", 0x013B: "maker", 0x8298: "copyright", 0x010E: "beschrijving",
    0x8769: "opnamegegevens (datum, lens, instellingen)", 0xA430: "naam van de eigenaar", 0xA431: "serienummer",
}
_PDF_LABELS = {
    "/Author": "auteur", "/Creator": "makende software", "/Producer": "producent (software)", "/Title": "titel",
    "/Subject": "onderwerp", "/Keywords": "trefwoorden", "/CreationDate": "aanmaakdatum",
    "/ModDate": "wijzigingsdatum",
}
_OFFICE_LABELS = (  # element in docProps/core.xml, app.xml or meta.xml -> label
    (b"dc:creator", "auteur"), (b"cp:lastModifiedBy", "laatst gewijzigd door"), (b"dc:title", "titel"),
    (b"dc:subject", "onderwerp"), (b"cp:keywords", "trefwoorden"), (b"dcterms:created", "aanmaakdatum"),
    (b"dcterms:modified", "wijzigingsdatum"), (b"Application", "software"), (b"Company", "organisatie"),
    (b"Manager", "leidinggevende"), (b"Template", "sjabloon"), (b"meta:initial-creator", "auteur"),
    (b"meta:generator", "software"), (b"meta:creation-date", "aanmaakdatum"), (b"dc:date", "wijzigingsdatum"),
    (b"vt:lpwstr", "eigen documenteigenschappen"),
)
_EMPTY_CORE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp="http://'
               b'schemas.openxmlformats.org/package/2006/metadata/core-properties"/>')
_EMPTY_APP = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.'
              b'openxmlformats.org/officeDocument/2006/extended-properties"/>')
_EMPTY_META = (b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office="urn:oasis:names:tc:'
               b'opendocument:xmlns:office:1.0" office:version="1.2"><office:meta/></office:document-meta>')
_EMPTY_CUSTOM = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.'
                 b'openxmlformats.org/officeDocument/2006/custom-properties"/>')
_REPLACED = {"docProps/core.xml": _EMPTY_CORE, "docProps/app.xml": _EMPTY_APP, "docProps/custom.xml": _EMPTY_CUSTOM,
             "meta.xml": _EMPTY_META}


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    kind: FileKind
    found: tuple[str, ...]  # metadata the file had (Dutch labels)
    stripped: bool  # True: `found` was removed; False: the reporter chose to keep it

    def summary(self) -> str:
        """What the reporter is shown, in Dutch."""
        if not self.found:
            return "geen metadata gevonden"
        return ("verwijderd: " if self.stripped else "behouden op jouw vraag: ") + ", ".join(self.found)


def _unique(labels: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(labels))


def _image(data: bytes, kind: FileKind, strip: bool) -> Cleaned:
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind.extension.replace("jpg", "jpeg").upper()]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise FileRefused(f"image of {image.width}x{image.height} pixels", IMAGE_TOO_LARGE)
                image.load()
                exif = image.getexif()
                found = [label for tag, label in _EXIF_LABELS.items() if tag in exif]
                if "xmp" in image.info or "XML:com.adobe.xmp" in image.info:
                    found.append("XMP-gegevens")
                if "comment" in image.info:
                    found.append("commentaar")
                if kind == filetypes.PNG and any(isinstance(v, str) for k, v in image.info.items()
                                                 if k not in ("xmp", "XML:com.adobe.xmp")):
                    found.append("tekstvelden")
                if exif and not found:
                    found.append("overige EXIF-gegevens")
                if not strip:
                    return Cleaned(data, kind, _unique(found), False)
                upright = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                if kind == filetypes.JPEG:
                    upright.convert("RGB" if upright.mode not in ("L", "RGB", "CMYK") else upright.mode) \
                        .save(out, "JPEG", quality=92)
                else:
                    upright.save(out, "PNG", optimize=False)
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileRefused(f"decompression bomb ({exc})", IMAGE_TOO_LARGE) from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.UnidentifiedImageError) as exc:
        raise FileRefused(f"image does not decode ({type(exc).__name__})", BROKEN_IMAGE) from None
    return Cleaned(out.getvalue(), kind, _unique(found), True)


def _pdf(data: bytes, strip: bool) -> Cleaned:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError
    from pypdf.generic import NameObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FileRefused("password-protected PDF", LOCKED_PDF)
        info: dict[str, Any] = dict(reader.metadata or {})
        found = [label for key, label in _PDF_LABELS.items() if str(info.get(key) or "").strip()]
        if "/Metadata" in reader.root_object:
            found.append("XMP-gegevens")
        len(reader.pages)  # a PDF whose page tree does not load is damaged
        if not strip:
            return Cleaned(data, filetypes.PDF, _unique(found), False)
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        root = writer._root_object
        if NameObject("/Metadata") in root:
            del root[NameObject("/Metadata")]
        out = io.BytesIO()
        writer.write(out)
    except FileRefused:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise FileRefused(f"PDF does not load ({type(exc).__name__})", BROKEN_PDF) from None
    return Cleaned(out.getvalue(), filetypes.PDF, _unique(found), True)


def _has_value(xml: bytes, element: bytes) -> bool:
    return re.search(rb"<" + re.escape(element) + rb"(\s[^>]*)?>\s*[^<\s]", xml) is not None


def _office(data: bytes, kind: FileKind, strip: bool) -> Cleaned:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            filetypes.check_zip(archive)
            found: list[str] = []
            for name in _REPLACED:
                xml = filetypes.read_member(archive, name)
                if xml is not None:
                    found += [label for element, label in _OFFICE_LABELS if _has_value(xml, element)]
            if not strip:
                return Cleaned(data, kind, _unique(found), False)
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as clean:
                for member in archive.infolist():
                    body = _REPLACED.get(member.filename) or archive.read(member)
                    stored = member.filename == "mimetype"  # ODF: first and uncompressed
                    info = zipfile.ZipInfo(member.filename, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                    clean.writestr(info, body)
    except FileRefused:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise FileRefused(f"office zip unreadable ({type(exc).__name__})", filetypes.BROKEN_ZIP) from None
    return Cleaned(out.getvalue(), kind, _unique(found), True)


def clean(data: bytes, *, strip: bool = True) -> Cleaned:
    """Check `data` (type on the bytes, damage, zip bomb) and remove its metadata unless `strip` is False."""
    kind = filetypes.sniff(data)
    if kind in (filetypes.JPEG, filetypes.PNG):
        return _image(data, kind, strip)
    if kind == filetypes.PDF:
        return _pdf(data, strip)
    if kind in (filetypes.DOCX, filetypes.XLSX, filetypes.ODT):
        return _office(data, kind, strip)
    return Cleaned(data, kind, (), strip)
