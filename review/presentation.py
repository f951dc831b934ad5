"""How stored posts are shown: Swedish names, Stockholm times, and the highlighted text of a post.

``highlight`` cuts a post's text into segments, each with the flags and personal-data kinds that cover it;
the template renders every segment escaped, inside a <mark> with its labels. For roles that may not see
colleagues' exposed details, personal-data values are replaced by their kind ("[ADRESS]").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import jinja2

from models import placeholder
from vaktpost.schema import Verdict
from vaktpost.swedish import LABEL_NAMES, PII_NAMES, SEVERITY_NAMES, STATUS_NAMES, STOCKHOLM


@dataclass(frozen=True)
class Mark:
    kind: str  # "label" or "pii"
    name: str  # the label or personal-data type
    why: str = ""


@dataclass(frozen=True)
class Segment:
    text: str
    marks: tuple[Mark, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        """The tooltip: what each mark over this segment means, in Swedish."""
        parts = []
        for mark in self.marks:
            name = LABEL_NAMES.get(mark.name) if mark.kind == "label" else PII_NAMES.get(mark.name)
            parts.append(f"{name or mark.name}{': ' + mark.why if mark.why else ''}")
        return "; ".join(parts)

    @property
    def css(self) -> str:
        return " ".join(sorted({f"{mark.kind}-{mark.name}" for mark in self.marks}))


def highlight(text: str, verdict: Verdict, *, show_personal_data: bool) -> list[Segment]:
    """The text in segments with the flags' explanation spans and the personal-data spans marked."""
    spans: list[tuple[int, int, Mark]] = []
    for label, explanations in verdict.explanations.items():
        for explanation in explanations:
            spans.append((explanation.start, explanation.end, Mark("label", label, explanation.reason)))
    for pii in verdict.pii:
        spans.append((pii.start, pii.end, Mark("pii", pii.type)))
    spans = [(max(0, s), min(len(text), e), m) for s, e, m in spans if 0 <= s < e and s < len(text)]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    masked = {(pii.start, pii.end): pii.type for pii in verdict.pii} if not show_personal_data else {}
    segments: list[Segment] = []
    skip_until = -1
    for start, end in itertools.pairwise(cuts):
        if start < skip_until:
            continue
        covering = tuple(mark for s, e, mark in spans if s <= start and end <= e)
        hidden = next(((s, e, kind) for (s, e), kind in masked.items() if s <= start < e), None)
        if hidden is not None:
            _, e, kind = hidden
            segments.append(Segment(placeholder(kind), (Mark("pii", kind),)))
            skip_until = e
            continue
        segments.append(Segment(text[start:end], covering))
    return segments


def stockholm(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(STOCKHOLM).strftime(pattern) if value else "–"


def percent(value: float) -> str:
    return f"{round(value * 100)} %"


def names(values: Iterable[str], table: dict[str, str]) -> str:
    return ", ".join(table.get(value, value) for value in values)


def register(environment: jinja2.Environment) -> None:
    environment.filters.update(
        stockholm=stockholm,
        percent=percent,
        label_name=lambda value: LABEL_NAMES.get(value, value),
        status_name=lambda value: STATUS_NAMES.get(value, value),
        pii_name=lambda value: PII_NAMES.get(value, value),
        severity_name=lambda value: SEVERITY_NAMES.get(str(value), str(value)),
    )
    environment.globals.update(
        LABEL_NAMES=LABEL_NAMES, STATUS_NAMES=STATUS_NAMES, PII_NAMES=PII_NAMES, SEVERITY_NAMES=SEVERITY_NAMES
    )
