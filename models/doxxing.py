"""Doxxing assessment: who in a post is exposed, what was exposed, and how severe it is.

Reads the personal-data spans, watch-list matches and the lexicon's cues; it never looks for data itself.
A person counts only in a staff context (a watch-list match, a role word, social services named or a
workplace), so sports talk, celebrities and sales ads do not become exposures. Severity follows what
the exposure makes possible: a name with a role is low, contact details medium, a home address, car,
personnummer or daily routine high, and a home address or routine together with the children's school or
family critical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.watchlist import WatchHit
from vaktpost.schema import Exposure, PiiSpan, Severity

LOCATING = {"street_address", "postal_code", "routine", "license_plate", "personnummer"}
HOME = {"street_address", "postal_code", "routine"}
CHILDREN = {"school", "family"}
CONTACT = {"phone", "email", "photo", "family", "school", "workplace"}
EXPOSING = LOCATING | CONTACT
# What points at one real person even when the post does not name them; family, routine and workplace
# words alone do not ("tack till alla socialsekreterare som hjälper barnen varje dag").
IDENTIFYING = {"street_address", "postal_code", "license_plate", "personnummer", "phone", "email", "school", "photo"}
SCORES = {Severity.low: 0.4, Severity.medium: 0.65, Severity.high: 0.85, Severity.critical: 0.97}
PROTECTED_LOW = 0.55  # a protected person named with a role is already worth a flag
SOLICITATION_FLOOR = 0.5  # the lexicon's doxxing cues (asking for or offering details) at or above this


@dataclass
class _Person:
    key: str
    name: PiiSpan | None
    position: int
    items: list[PiiSpan]


def assess(
    spans: Sequence[PiiSpan],
    hits: Sequence[WatchHit],
    *,
    staff_context: bool,
    solicitation: float,
) -> list[Exposure]:
    """One exposure per person the post exposes (or asks about), most severe first."""
    staff = staff_context or bool(hits) or any(s.type == "workplace" for s in spans)
    if not staff:
        return []
    people = _people(spans, hits)
    items = [s for s in spans if s.type in EXPOSING]
    for item in items:
        nearest = min(people, key=lambda p: abs(p.position - item.start), default=None)
        if nearest is None:
            nearest = _Person("staff", None, item.start, [])
            people.append(nearest)
        nearest.items.append(item)
    asking = solicitation >= SOLICITATION_FLOOR
    if asking and not people:
        people.append(_Person("staff", None, 0, []))
    exposures = [_exposure(person, asking, solicitation) for person in people]
    return sorted((e for e in exposures if e is not None), key=lambda e: -e.score)


def _people(spans: Sequence[PiiSpan], hits: Sequence[WatchHit]) -> list[_Person]:
    """Protected people by their matches, other named people as staff members not on the list."""
    people: dict[str, _Person] = {}
    for hit in hits:
        name = next((s for s in spans if s.type == "person_name" and s.start <= hit.start < s.end), None)
        if name is None:  # the watch-list knows a spelling or nickname the name rules did not
            name = PiiSpan(type="person_name", text=hit.text, start=hit.start, end=hit.end, score=hit.score)
        key = f"watchlist:{hit.person_id}"
        if key not in people:
            people[key] = _Person(key, name, hit.start, [])
    for span in spans:
        if span.type != "person_name" or any(p.name == span for p in people.values()):
            continue
        if any(hit.start < span.end and span.start < hit.end for hit in hits):
            continue
        people[f"staff@{span.start}"] = _Person("staff", span, span.start, [])
    return list(people.values())


def _exposure(person: _Person, asking: bool, solicitation: float) -> Exposure | None:
    kinds = {item.type for item in person.items}
    if person.name is None and not asking and not kinds & IDENTIFYING:
        return None  # a unit, a family word or a routine without anyone identifiable exposes no one
    if kinds & HOME and kinds & CHILDREN:
        severity = Severity.critical
    elif kinds & LOCATING:
        severity = Severity.high
    elif kinds - {"workplace"}:
        severity = Severity.medium
    elif person.name is not None:
        severity = Severity.low  # a name with a role or a workplace
    else:
        severity = Severity.medium  # nothing exposed yet, but the post asks for it
    score = SCORES[severity]
    if severity is Severity.low and person.key.startswith("watchlist:"):
        score = PROTECTED_LOW
    if asking:
        score = max(score, min(solicitation, 0.9))
    spans = ([person.name] if person.name else []) + sorted(person.items, key=lambda s: s.start)
    return Exposure(
        person=person.key,
        name=person.name,
        exposed=sorted(kinds),
        spans=spans,
        solicitation=asking,
        severity=severity,
        score=round(score, 4),
    )
