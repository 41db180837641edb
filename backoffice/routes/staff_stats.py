"""Figures for coordinators of one organisation: report statistics (page and CSV export) and conversation counts.

Computed in SQL from metadata (integrity.staff.statistics, integrity.staff.analytics); nothing is decrypted.
Report counts from 1 to 4 are shown as "<5" on the page and in the export alike: these figures are meant to be
shared in policy reports, and the case list is the place for exact small numbers. The export is audited.
Charts are inline SVG bars drawn on the server (no script); every chart has a data table next to it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backoffice.deps import SessionDep, SettingsDep, TemplatesDep
from backoffice.staff import PREFIX, CoordinatorDep
from integrity import report_flow
from integrity.content import default_content
from integrity.errors import DataFileError
from integrity.profiles import get_profile
from integrity.reports.db import transaction
from integrity.staff import analytics, audit, statistics, suppression
from integrity.staff.statistics import Period, PeriodError

router = APIRouter(prefix=PREFIX, tags=["beheer"])

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
BAD_DATE = "Vul de datums in als dag, maand en jaar (bijvoorbeeld 2025-03-31). We tonen de standaardperiode."
CONVERSATION_DAYS = 30
BAR_AREA = 300  # SVG units for the longest bar
LABEL_CHARS = 34
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EVENT_LABELS = {
    "topic": "vraag beantwoord",
    "fallback": "niet begrepen",
    "handover": "wilde met een mens praten",
    "emergency": "noodsituatie",
    "report_started": "melding gestart",
    "report_submitted": "melding verstuurd",
    "followup": "melding opgevolgd met code",
}


# --- charts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    shown: str  # the count as shown: "<5" for a suppressed cell
    width: int  # SVG units; 0 for a suppressed or empty cell

    @property
    def short_label(self) -> str:
        return self.label if len(self.label) <= LABEL_CHARS else self.label[:LABEL_CHARS - 1] + "…"


def bars(rows: list[tuple[str, int]], labels: dict[str, str], *, shown: list[str] | None = None) -> list[Bar]:
    """One bar per row; `shown`: the values as they may be shown ("<5", "verborgen": no bar), None: exact."""
    values = shown if shown is not None else [str(count) for _, count in rows]
    visible = [count for (_, count), value in zip(rows, values, strict=True) if value == str(count)]
    top = max(visible, default=0)
    result = []
    for (key, count), value in zip(rows, values, strict=True):
        hidden = value != str(count)
        width = 0 if hidden or not top else max(1, round(count / top * BAR_AREA)) if count else 0
        result.append(Bar(key, labels.get(key, key), count, value, width))
    return result


# --- period ----------------------------------------------------------------------------------------------------


def _zone(settings: SettingsDep) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def _today(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


def _period(van: str, tot: str, zone: ZoneInfo, default: Period) -> tuple[Period, str]:
    """The chosen period, or the default and a Dutch error."""
    if not van and not tot:
        return default, ""
    try:
        start = date.fromisoformat(van[:10]) if van else default.start
        end = date.fromisoformat(tot[:10]) if tot else default.end
    except ValueError:
        return default, BAD_DATE
    try:
        return statistics.make_period(start, end, zone), ""
    except PeriodError as exc:
        return default, exc.user_message + " We tonen de standaardperiode."


def date_label(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _labels(profile_id: str) -> dict[str, dict[str, str]]:
    content = default_content()
    try:
        actors = {actor_id: actor.name for actor_id, actor in get_profile(profile_id).actors.items()}
    except DataFileError:
        actors = {}
    return {
        "category": {name: route.label for name, route in content.routes.items()},
        "actor": {**actors, "": "geen actor gekozen"},
        "status": report_flow.status_labels("chat"),
        "topic": {route.topic: route.label for route in reversed(content.routes.values())},
    }


# --- report statistics -----------------------------------------------------------------------------------------


def _report_figures(db: SessionDep, profile_id: str, period: Period
                    ) -> tuple[statistics.Statistics, statistics.ShownStatistics, dict[str, list[Bar]]]:
    stats = statistics.report_statistics(db, profile_id, period)
    shown = statistics.shown_statistics(stats)
    labels = _labels(profile_id)
    charts = {
        "month": bars(stats.per_month, {key: month_label(key) for key, _ in stats.per_month},
                      shown=shown.rows["month"]),
        "category": bars(stats.per_category, labels["category"], shown=shown.rows["category"]),
        "actor": bars(stats.per_actor, labels["actor"], shown=shown.rows["actor"]),
        "status": bars(stats.per_status, labels["status"], shown=shown.rows["status"]),
    }
    return stats, shown, charts


@router.get("/statistieken", response_class=HTMLResponse)
def show_statistics(request: Request, db: SessionDep, settings: SettingsDep, templates: TemplatesDep,
                    loaded: CoordinatorDep, van: str = "", tot: str = "") -> HTMLResponse:
    zone = _zone(settings)
    period, error = _period(van, tot, zone, statistics.default_period(_today(zone), zone))
    profile_id = loaded.user.profile_id or ""
    stats, shown, charts = _report_figures(db, profile_id, period)
    return templates.TemplateResponse(request, "staff/stats.html", {
        "stats": stats, "shown": shown, "charts": charts, "complement": statistics.COMPLEMENT, "period": period,
        "error": error,
        "min_cell": statistics.MIN_CELL, "export_query": f"van={period.start}&tot={period.end}",
        "date_label": date_label,
    }, status_code=400 if error else 200)


def csv_safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@router.get("/statistieken/export.csv")
def export_statistics(db: SessionDep, settings: SettingsDep, loaded: CoordinatorDep, van: str = "",
                      tot: str = "") -> Response:
    zone = _zone(settings)
    period, error = _period(van, tot, zone, statistics.default_period(_today(zone), zone))
    profile_id = loaded.user.profile_id or ""
    stats, shown, charts = _report_figures(db, profile_id, period)
    rows: list[tuple[object, ...]] = [
        ("onderdeel", "sleutel", "omschrijving", "waarde"),
        ("periode", "van", "eerste dag", period.start.isoformat()),
        ("periode", "tot", "laatste dag", period.end.isoformat()),
        ("uitleg", "kleine_aantallen", f"aantallen van 1 tot {statistics.MIN_CELL - 1} staan er als "
                                       f"{statistics.SUPPRESSED}; gemiddelden over minder dan "
                                       f"{statistics.MIN_CELL} meldingen ontbreken; waar een klein aantal anders "
                                       "uit het totaal terug te rekenen is, staan ook andere aantallen als "
                                       f"{statistics.COMPLEMENT}", ""),
        ("totaal", "meldingen", "meldingen in de periode", shown.total),
    ]
    for section, name in (("maand", "month"), ("categorie", "category"), ("actor", "actor"), ("status", "status")):
        rows.extend((section, bar.key, bar.label, bar.shown) for bar in charts[name])
    rows.extend([
        ("termijn", "ontvangst_bevestigd", "ontvangst bevestigd", shown.acknowledged),
        ("termijn", "ontvangst_binnen_7_dagen", "ontvangst binnen 7 dagen bevestigd", shown.acknowledged_on_time),
        ("termijn", "dagen_tot_ontvangst", "gemiddeld aantal dagen tot ontvangstbevestiging",
         "" if stats.ack_days is None else f"{stats.ack_days:.1f}"),
        ("termijn", "afgesloten", "afgesloten", shown.closed),
        ("termijn", "dagen_tot_afsluiting", "gemiddeld aantal dagen tot afsluiting",
         "" if stats.close_days is None else f"{stats.close_days:.1f}"),
    ])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    with transaction(db):
        audit.record(db, "export", user=loaded.user,
                     detail=f"statistics CSV for {period.start}..{period.end}" + (" (default period)" if error else ""))
    filename = f"statistieken-{profile_id}-{period.start}-{period.end}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- conversations ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRow:
    day: date
    counts: dict[str, int]
    emergency: str  # suppressed: one emergency on one day could point at a person with outside knowledge
    fallback_rate: float | None


@router.get("/gesprekken", response_class=HTMLResponse)
def show_conversations(request: Request, db: SessionDep, settings: SettingsDep, templates: TemplatesDep,
                       loaded: CoordinatorDep, van: str = "", tot: str = "") -> HTMLResponse:
    zone = _zone(settings)
    today = _today(zone)
    default = Period(today - timedelta(days=CONVERSATION_DAYS - 1), today, zone)
    period, error = _period(van, tot, zone, default)
    profile_id = loaded.user.profile_id or ""
    summary = analytics.summary(db, profile_id, period.start, period.end)
    labels = _labels(profile_id)["topic"]
    topics = sorted(summary.per_topic.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    # Emergencies per day: "<5" when small, and with complementary suppression against the period's total (else
    # a single small day would be the total minus the others).
    emergencies = [summary.per_day[day].get("emergency", 0) for day in summary.days]
    protected = suppression.protect(emergencies)
    emergency_total = sum(emergencies)
    if protected.hide_total or suppression.is_small(emergency_total):
        protected = suppression.without_sum(suppression.protect(emergencies, total_known=False), emergencies)
        shown_total = statistics.cell(emergency_total) if suppression.is_small(emergency_total) \
            else suppression.COMPLEMENT
    else:
        shown_total = str(emergency_total)
    days = [DayRow(day, summary.per_day[day], shown, analytics.fallback_rate(summary.per_day[day]))
            for day, shown in zip(summary.days, protected.shown(emergencies), strict=True)]
    return templates.TemplateResponse(request, "staff/conversations.html", {
        "period": period, "error": error, "summary": summary, "days": days, "topic_labels": labels,
        "topics": topics, "event_labels": EVENT_LABELS,
        "topic_chart": bars([(topic, counts.get("topic", 0)) for topic, counts in topics], labels),
        "fallback_chart": bars(sorted(((t, c.get("fallback", 0)) for t, c in topics if c.get("fallback")),
                                      key=lambda row: -row[1]), labels),
        "totals": [(event, summary.totals.get(event, 0)) for event in analytics.EVENTS],
        "emergency_total": shown_total, "date_label": date_label,
    }, status_code=400 if error else 200)
