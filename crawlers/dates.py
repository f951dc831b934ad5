"""Swedish forum timestamps ("Idag, 21:13", "Igår, 08:02", "2023-02-03, 14:05") to UTC.

Relative days are resolved in Europe/Stockholm at fetch time: a page fetched at 00:00:30 saying
"Igår, 23:59" is 31 seconds old.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

_RELATIVE_DAYS = {"idag": 0, "i dag": 0, "igår": 1, "i går": 1, "igar": 1, "i förrgår": 2, "i forrgar": 2}
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "maj": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "okt": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\s*,?\s*(?P<H>\d{1,2})[:.](?P<M>\d{2})")
_REL = re.compile(
    r"(?P<rel>idag|i dag|igår|i går|igar|i förrgår|i forrgar)\s*,?\s*(?P<H>\d{1,2})[:.](?P<M>\d{2})", re.I
)
_DAY_MONTH = re.compile(
    r"(?P<d>\d{1,2})\s+(?P<mon>jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)\w*\.?\s*(?P<y>\d{4})?"
    r"\s*,?\s*(?P<H>\d{1,2})[:.](?P<M>\d{2})",
    re.I,
)


class UnparsableDateError(ValueError):
    """The text holds no timestamp in any of the forms Swedish forums use."""


def parse_swedish_datetime(text: str, fetched_at: datetime) -> datetime:
    """The first Swedish forum timestamp found in ``text``, as an aware UTC datetime."""
    local_now = fetched_at.astimezone(STOCKHOLM)
    clean = " ".join(text.replace("\xa0", " ").split())
    if match := _ISO.search(clean):
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    elif match := _REL.search(clean):
        day = local_now.date() - timedelta(days=_RELATIVE_DAYS[match["rel"].lower()])
    elif match := _DAY_MONTH.search(clean):
        year = int(match["y"]) if match["y"] else local_now.year
        day = date(year, _MONTHS[match["mon"].lower()[:3]], int(match["d"]))
        if not match["y"] and day > local_now.date():
            day = day.replace(year=year - 1)  # "3 dec" seen in January means last December
    else:
        raise UnparsableDateError(f"no Swedish timestamp in {clean[:60]!r}")
    clock = time(int(match["H"]), int(match["M"]))
    # fold=0 takes the first of the two repeated hours when DST ends; post ids order the rest.
    return datetime.combine(day, clock, tzinfo=STOCKHOLM).astimezone(UTC)
