"""The queue's filters: the filter form -> a validated state dict kept in the session -> an ``index.SearchQuery``.

Filters are posted and kept server-side (``Session.state["filters"]``) because what a reviewer searches for is
often a colleague's name: it must never end up in a URL, a proxy log or the browser history.

The state dict is plain JSON (it is stored with the session):

    {"q": str, "labels": [label], "sources": [source], "statuses": [status], "min_score": percent | None,
     "max_score": percent | None, "since": "YYYY-MM-DD" | None, "until": "YYYY-MM-DD" | None,
     "assignees": [name], "unassigned": bool, "staff": [watch-list id], "sort": "severity" | "newest" | "oldest"}

``parse_form`` validates a submitted form and says in Swedish what was wrong; fields with errors are left out
of the state (the others still apply). ``to_query`` trusts nothing it reads back either: a state saved by an
older version, or by a user whose role has changed since, still gives a valid and permitted query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from starlette.datastructures import FormData

from index import REVIEW_STATUSES, SearchQuery, SortOrder
from vaktpost.schema import LABELS
from vaktpost.swedish import LABEL_NAMES, STATUS_NAMES, STOCKHOLM

FilterState = dict[str, Any]
FormValues = Mapping[str, Sequence[str]]

SORTS: tuple[SortOrder, ...] = ("severity", "newest", "oldest")
SORT_NAMES: dict[str, str] = {"severity": "Allvarligast först", "newest": "Nyast först", "oldest": "Äldst först"}

MAX_TEXT = 200
MAX_VALUES = 50
SOURCE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
ASSIGNEE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
STAFF_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UNASSIGNED = "-"


@dataclass(frozen=True)
class ParsedFilters:
    state: FilterState
    errors: list[str] = field(default_factory=list)


def form_values(form: FormData) -> dict[str, list[str]]:
    """A submitted form as lists of strings per field (uploaded files are ignored)."""
    return {key: [value for value in form.getlist(key) if isinstance(value, str)] for key in form}


def _first(form: FormValues, name: str) -> str:
    values = form.get(name) or ()
    return values[0].strip() if values else ""


def _many(form: FormValues, name: str) -> list[str]:
    """All non-empty values of a multi-valued field; a text field may also separate values with commas."""
    found: list[str] = []
    for value in form.get(name) or ():
        for part in value.split(","):
            part = part.strip()
            if part and part not in found:
                found.append(part)
    return found


def _percent(raw: str) -> float:
    """A percentage typed by a person: "85", "85 %", "85,5" (Swedish decimal comma). Raises ValueError."""
    value = float(raw.replace("%", "").replace(",", ".").strip())
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(raw)
    return value


def parse_form(form: FormValues, *, may_filter_staff: bool) -> ParsedFilters:
    """The filter form (see queue.html for the field names) as a state dict, with Swedish error messages.

    ``staff`` (the protected-staff watch-list) is only read for roles that may filter on it; for others the
    field is ignored, whatever was submitted."""
    if _first(form, "reset") == "1":
        return ParsedFilters({})
    errors: list[str] = []
    state: FilterState = {}

    text = " ".join(_first(form, "q").split())
    if len(text) > MAX_TEXT:
        errors.append(f"Söktexten får vara högst {MAX_TEXT} tecken.")
    elif text:
        state["q"] = text

    def checked(name: str, allowed: Sequence[str], what: str) -> list[str]:
        values = _many(form, name)
        unknown = [value for value in values if value not in allowed]
        if unknown:
            errors.append(f"Okänd {what}: {', '.join(unknown[:5])}.")
        return [value for value in allowed if value in values]

    if labels := checked("label", LABELS, "etikett"):
        state["labels"] = labels
    if statuses := checked("status", REVIEW_STATUSES, "status"):
        state["statuses"] = statuses

    sources = _many(form, "source")
    bad_sources = [source for source in sources if not SOURCE_PATTERN.match(source)]
    if bad_sources or len(sources) > MAX_VALUES:
        errors.append("Källor anges med sina namn (små bokstäver, siffror, - och _).")
    elif sources:
        state["sources"] = sorted(sources)

    scores: dict[str, float] = {}
    for name, what in (("min_score", "Lägsta poäng"), ("max_score", "Högsta poäng")):
        raw = _first(form, name)
        if not raw:
            continue
        try:
            scores[name] = _percent(raw)
        except ValueError:
            errors.append(f"{what}: ange ett tal mellan 0 och 100 (procent).")
    if len(scores) == 2 and scores["min_score"] > scores["max_score"]:
        errors.append("Lägsta poäng kan inte vara högre än högsta poäng.")
        scores = {}
    state.update(scores)

    days: dict[str, date] = {}
    for name, what in (("since", "Från och med"), ("until", "Till och med")):
        raw = _first(form, name)
        if not raw:
            continue
        try:
            days[name] = date.fromisoformat(raw)
            if not 2000 <= days[name].year <= 2100:
                raise ValueError(raw)
        except ValueError:
            days.pop(name, None)
            errors.append(f"{what}: ange ett datum som ÅÅÅÅ-MM-DD.")
    if len(days) == 2 and days["since"] > days["until"]:
        errors.append("Datumet för från och med kan inte vara senare än till och med.")
        days = {}
    state.update({name: day.isoformat() for name, day in days.items()})

    assignees = _many(form, "assignee")
    unassigned = UNASSIGNED in assignees or _first(form, "unassigned") in ("1", "on", "true")
    assignees = [name.lower() for name in assignees if name != UNASSIGNED]
    if any(not ASSIGNEE_PATTERN.match(name) for name in assignees) or len(assignees) > MAX_VALUES:
        errors.append("Tilldelad: ange användarnamn (separera flera med komma), eller - för ej tilldelade.")
    elif assignees:
        state["assignees"] = assignees
    if unassigned:
        state["unassigned"] = True

    if may_filter_staff:
        staff = _many(form, "staff")
        if any(not STAFF_PATTERN.match(person) for person in staff) or len(staff) > MAX_VALUES:
            errors.append("Skyddad personal: ange id:n från bevakningslistan (bokstäver, siffror, - och _).")
        elif staff:
            state["staff"] = staff

    sort = _first(form, "sort") or "severity"
    if sort not in SORTS:
        errors.append("Okänd sortering.")
    elif sort != "severity":
        state["sort"] = sort
    return ParsedFilters(state, errors)


# -- reading the state back ------------------------------------------------------------------------


def _strings(state: FilterState, name: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    values = state.get(name)
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str) and (pattern is None or pattern.match(v))][:MAX_VALUES]


def _score(state: FilterState, name: str) -> float | None:
    value = state.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return None
    return float(value) / 100


def _day(state: FilterState, name: str) -> date | None:
    value = state.get(name)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Stockholm (DST handled by zoneinfo)."""
    return datetime.combine(day, time(), tzinfo=STOCKHOLM)


def to_query(state: FilterState | None, *, may_filter_staff: bool, limit: int = 50, offset: int = 0) -> SearchQuery:
    """The search a saved filter state stands for: flagged posts only; ``until`` includes its whole day."""
    state = state if isinstance(state, dict) else {}
    text = state.get("q")
    since, until = _day(state, "since"), _day(state, "until")
    sort = state.get("sort")
    return SearchQuery(
        text=text[:MAX_TEXT] if isinstance(text, str) and text.strip() else None,
        labels=[label for label in LABELS if label in _strings(state, "labels")],
        sources=_strings(state, "sources", SOURCE_PATTERN),
        min_score=_score(state, "min_score"),
        max_score=_score(state, "max_score"),
        since=day_start(since) if since else None,
        until=day_start(until + timedelta(days=1)) if until else None,
        review_status=[s for s in REVIEW_STATUSES if s in _strings(state, "statuses")],
        assignees=_strings(state, "assignees", ASSIGNEE_PATTERN),
        unassigned=state.get("unassigned") is True,
        protected_staff=_strings(state, "staff", STAFF_PATTERN) if may_filter_staff else [],
        flagged_only=True,
        sort=cast(SortOrder, sort) if sort in SORTS else "severity",
        limit=limit,
        offset=offset,
    )


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def describe(state: FilterState | None, *, may_filter_staff: bool) -> list[tuple[str, str]]:
    """The filters in use, in Swedish, for the queue and the printed report (empty: all flagged posts)."""
    state = state if isinstance(state, dict) else {}
    query = to_query(state, may_filter_staff=may_filter_staff)
    shown: list[tuple[str, str]] = []
    if query.text:
        shown.append(("Söktext", query.text))
    if query.labels:
        shown.append(("Etiketter", ", ".join(LABEL_NAMES.get(label, label) for label in query.labels)))
    if query.sources:
        shown.append(("Källor", ", ".join(query.sources)))
    if query.review_status:
        shown.append(("Status", ", ".join(STATUS_NAMES.get(s, s) for s in query.review_status)))
    low, high = _score(state, "min_score"), _score(state, "max_score")
    if low is not None or high is not None:
        bounds = f"{_number(low * 100) if low is not None else 0}–{_number(high * 100) if high is not None else 100} %"
        shown.append(("Poäng", bounds))
    since, until = _day(state, "since"), _day(state, "until")
    if since or until:
        shown.append(("Skapade", f"{since.isoformat() if since else '…'} – {until.isoformat() if until else '…'}"))
    if query.assignees or query.unassigned:
        who = [*query.assignees, *(["ej tilldelade"] if query.unassigned else [])]
        shown.append(("Tilldelad", ", ".join(who)))
    if query.protected_staff:
        shown.append(("Skyddad personal", ", ".join(query.protected_staff)))
    shown.append(("Sortering", SORT_NAMES[query.sort]))
    return shown


def form_defaults(state: FilterState | None, *, may_filter_staff: bool) -> dict[str, Any]:
    """What the filter form shows: the saved state, with every field present (templates use StrictUndefined)."""
    state = state if isinstance(state, dict) else {}

    def text(name: str) -> str:
        value = state.get(name)
        if isinstance(value, bool):
            return ""
        if isinstance(value, float | int):
            return f"{float(value):g}"  # a number input's value takes a decimal point, whatever the locale
        return value if isinstance(value, str) else ""

    return {
        "q": text("q"),
        "labels": _strings(state, "labels"),
        "sources": _strings(state, "sources"),
        "statuses": _strings(state, "statuses"),
        "min_score": text("min_score"),
        "max_score": text("max_score"),
        "since": text("since"),
        "until": text("until"),
        "assignee": ", ".join(_strings(state, "assignees")),
        "unassigned": state.get("unassigned") is True,
        "staff": ", ".join(_strings(state, "staff")) if may_filter_staff else "",
        "sort": state.get("sort") if state.get("sort") in SORTS else "severity",
        "active": bool(state),
    }
