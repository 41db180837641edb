"""Checking and cleaning what a reporter or a case worker typed, before anything is stored."""

from __future__ import annotations

from typing import Any

from integrity.ids import IDENTIFIER, PROFILE_ID
from integrity.report_fields import TEXT_FIELDS
from integrity.reports.errors import ReportError, ReportValidationError
from integrity.reports.schemas import ReportDraft
from integrity.textnorm import without_control_characters

CHANNELS = ("telegram", "web", "terminal")
MESSAGE_MAX = 5000


def clean_text(value: str) -> str:
    """Control characters dropped (`textnorm.without_control_characters`), the ends trimmed. It is only ever
    stored encrypted, so HTML and markdown stay literal text."""
    return without_control_characters(value).strip()


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
    if not IDENTIFIER.fullmatch(category):
        raise _invalid("category", f"'{category[:40]}' is not a topic id", "Kies een onderwerp voor je melding.")
    profile_id = clean_text(draft.profile_id or "")
    if not PROFILE_ID.fullmatch(profile_id):
        raise _invalid("profile_id", f"'{profile_id[:40]}' is not a profile id", ReportError.default_user_message)
    if draft.channel not in CHANNELS:
        raise _invalid("channel", f"'{draft.channel}' is not one of {', '.join(CHANNELS)}",
                       ReportError.default_user_message)
    route = clean_text(draft.preferred_route or "") or None
    if route is not None and not IDENTIFIER.fullmatch(route):
        raise _invalid("preferred_route", f"'{route[:40]}' is not an actor id", "Kies naar wie je melding gaat.")
    fields: dict[str, Any] = {
        field.name: text_field(field.name, getattr(draft, field.name), field.label, field.limit, field.required)
        for field in TEXT_FIELDS
    }
    if not draft.anonymous and not fields["contact"]:
        raise _invalid("contact", "not anonymous but no contact details",
                       "Laat contactgegevens achter, of kies om anoniem te melden.")
    fields["contact"] = fields["contact"] or None
    fields.update(category=category, profile_id=profile_id, channel=draft.channel, preferred_route=route,
                  anonymous=bool(draft.anonymous))
    return fields
