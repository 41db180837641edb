"""Checking and cleaning what a reporter or a case worker typed, before anything is stored."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from integrity.reports.errors import ReportError, ReportValidationError
from integrity.reports.schemas import ReportDraft

CHANNELS = ("telegram", "web", "terminal")
# Field -> (Dutch label, maximum length, required).
TEXT_FIELDS: dict[str, tuple[str, int, bool]] = {
    "what_happened": ("wat er gebeurd is", 5000, True),
    "when": ("wanneer het gebeurde", 500, False),
    "where": ("waar het gebeurde", 500, False),
    "people_involved": ("wie erbij betrokken was", 2000, False),
    "evidence": ("bewijs of documenten", 5000, False),
    "contact": ("contactgegevens", 500, False),
}
MESSAGE_MAX = 5000
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PROFILE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def clean_text(value: str) -> str:
    """Drop control characters except newline and tab (CR LF becomes LF) and lone surrogates; trim the ends.

    Everything else (emoji, HTML, markdown) stays as literal text: it is only ever stored encrypted.
    """
    kept = (
        char for char in value
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    )
    return "".join(kept).strip()


def _invalid(field_name: str, problem: str, user_message: str) -> ReportValidationError:
    return ReportValidationError(field_name, f"Invalid report field '{field_name}': {problem}", user_message)


def text_field(field_name: str, value: Any, label: str, limit: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field_name, f"expected text, got {type(value).__name__}", f"Vul {label} in als tekst.")
    cleaned = clean_text(value)
    if required and not cleaned:
        raise _invalid(field_name, "required and empty", f"Vul {label} in.")
    if len(cleaned) > limit:
        raise _invalid(
            field_name, f"{len(cleaned)} characters, maximum {limit}",
            f"Het veld '{label}' is te lang: maximaal {limit} tekens (nu {len(cleaned)}).",
        )
    return cleaned


def validate_draft(draft: ReportDraft) -> dict[str, Any]:
    """The cleaned fields of a draft, or ReportValidationError naming the first problem."""
    category = clean_text(draft.category or "")
    if not _IDENTIFIER.fullmatch(category):
        raise _invalid("category", f"'{category[:40]}' is not a topic id", "Kies een onderwerp voor je melding.")
    profile_id = clean_text(draft.profile_id or "")
    if not _PROFILE_ID.fullmatch(profile_id):
        raise _invalid("profile_id", f"'{profile_id[:40]}' is not a profile id", ReportError.default_user_message)
    if draft.channel not in CHANNELS:
        raise _invalid("channel", f"'{draft.channel}' is not one of {', '.join(CHANNELS)}",
                       ReportError.default_user_message)
    route = clean_text(draft.preferred_route or "") or None
    if route is not None and not _IDENTIFIER.fullmatch(route):
        raise _invalid("preferred_route", f"'{route[:40]}' is not an actor id", "Kies naar wie je melding gaat.")
    fields: dict[str, Any] = {
        name: text_field(name, getattr(draft, name), label, limit, required)
        for name, (label, limit, required) in TEXT_FIELDS.items()
    }
    if not draft.anonymous and not fields["contact"]:
        raise _invalid("contact", "not anonymous but no contact details",
                       "Laat contactgegevens achter, of kies om anoniem te melden.")
    fields["contact"] = fields["contact"] or None
    fields.update(category=category, profile_id=profile_id, channel=draft.channel, preferred_route=route,
                  anonymous=bool(draft.anonymous))
    return fields
