"""The free-text fields of a report: one specification for the chat form, the store and the web pages.

Pure Python (both virtualenvs): `integrity.report_flow` checks the chat's answers with the limits,
`integrity.reports.validation` checks a draft, the case and follow-up pages show the headings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportField:
    name: str  # the ReportDraft attribute and the key in the sealed content
    slot: str  # the Rasa form slot
    label: str  # Dutch, inside a sentence: "Vul {label} in."
    heading: str  # Dutch, above the text on the case and follow-up pages ("": not shown there)
    limit: int
    required: bool


TEXT_FIELDS = (
    ReportField("what_happened", "report_what", "wat er gebeurd is", "Wat er gebeurde", 5000, True),
    ReportField("when", "report_when", "wanneer het gebeurde", "Wanneer", 500, False),
    ReportField("where", "report_where", "waar het gebeurde", "Waar", 500, False),
    ReportField("people_involved", "report_people", "wie erbij betrokken was", "Betrokkenen", 2000, False),
    ReportField("evidence", "report_evidence", "bewijs of documenten", "Bewijs", 5000, False),
    ReportField("contact", "report_contact", "contactgegevens", "", 500, False),
)
SLOT_LIMITS = {field.slot: field.limit for field in TEXT_FIELDS}
SHOWN = tuple((field.name, field.heading) for field in TEXT_FIELDS if field.heading)
