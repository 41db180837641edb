"""The JSON documents inside the ciphertexts: packed with the report id, which is checked when they are opened."""

from __future__ import annotations

import json
from typing import Any

from integrity.reports.errors import ReportError

CONTENT_VERSION = 1


def pack(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unpack(data: bytes, report_id: str) -> dict[str, Any]:
    document = json.loads(data.decode("utf-8"))
    if document.get("report_id") != report_id:
        raise ReportError(f"Stored ciphertext of report {report_id} belongs to another report (tampering?)")
    return document


def without_envelope(document: dict[str, Any]) -> dict[str, Any]:
    """The report's fields without the version and report id that only protect the ciphertext."""
    return {k: v for k, v in document.items() if k not in ("version", "report_id")}
