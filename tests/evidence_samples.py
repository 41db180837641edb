"""Evidence files made on the spot for the tests: a photo with GPS in its EXIF, a PDF with an author, Office
documents with their property parts, a zip bomb and broken files."""

from __future__ import annotations

import io
import zipfile

GPS_LATITUDE = (50.0, 50.0, 46.0)  # Brussels
CAMERA_MODEL = "Testcam X100"
PDF_AUTHOR = "Jan Janssens"
DOCX_AUTHOR = "Marie Peeters"


def photo_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Testcam"
    exif[0x0110] = CAMERA_MODEL
    exif[0x0131] = "Firmware 1.0"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (4.0, 21.0, 7.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Iemand")
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf_with_author() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": PDF_AUTHOR, "/Creator": "Tekstverwerker 9", "/Producer": "PDF-maker 2"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DOCX_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
              'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
              'officedocument.wordprocessingml.document.main+xml"/></Types>')


def docx_with_author(author: str = DOCX_AUTHOR) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", DOCX_TYPES)
        archive.writestr("word/document.xml", "<w:document>Een verslag van de vergadering.</w:document>")
        archive.writestr("docProps/core.xml", f"<cp:coreProperties><dc:creator>{author}</dc:creator>"
                                              f"<cp:lastModifiedBy>{author}</cp:lastModifiedBy></cp:coreProperties>")
        archive.writestr("docProps/app.xml", "<Properties><Application>Tekstverwerker</Application>"
                                             "<Company>Het Bedrijf</Company></Properties>")
        archive.writestr("docProps/custom.xml", '<Properties><property name="Afdeling"><vt:lpwstr>Aankoop'
                                                "</vt:lpwstr></property></Properties>")
    return out.getvalue()


def zip_bomb() -> bytes:
    """A docx whose one member unpacks from a few kilobytes to 50 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", DOCX_TYPES)
        archive.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def broken_jpeg() -> bytes:
    whole = photo_with_gps((400, 300))
    return whole[: len(whole) // 2]


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
