"""Swedish forum dates and HTML-to-text: the two things every forum parser leans on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.dates import UnparsableDateError, parse_swedish_datetime
from crawlers.html_text import html_to_text

# 2026-11-23 12:00 UTC is 13:00 in Stockholm (CET).
FETCHED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Idag, 11:13", datetime(2026, 11, 23, 10, 13, tzinfo=UTC)),
        ("Igår, 08:02", datetime(2026, 11, 22, 7, 2, tzinfo=UTC)),
        ("I förrgår 12:34", datetime(2026, 11, 21, 11, 34, tzinfo=UTC)),
        ("2023-02-03, 14:05", datetime(2023, 2, 3, 13, 5, tzinfo=UTC)),
        ("2023-07-03, 14:05", datetime(2023, 7, 3, 12, 5, tzinfo=UTC)),  # summer time: UTC+2
        ("2025-12-07 19:11", datetime(2025, 12, 7, 18, 11, tzinfo=UTC)),
        ("3 maj 2021 09:10", datetime(2021, 5, 3, 7, 10, tzinfo=UTC)),
        ("3 dec 12:00", datetime(2025, 12, 3, 11, 0, tzinfo=UTC)),  # no year, in the future: last year
        ("\xa0Idag,\xa021:13 #5", datetime(2026, 11, 23, 20, 13, tzinfo=UTC)),
    ],
)
def test_swedish_dates(text: str, expected: datetime) -> None:
    assert parse_swedish_datetime(text, FETCHED) == expected


def test_relative_days_are_resolved_in_stockholm_not_utc() -> None:
    # 23:30 UTC on the 22nd is already 00:30 on the 23rd in Stockholm: "Igår" means the 22nd.
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert parse_swedish_datetime("Igår, 23:59", late) == datetime(2026, 11, 22, 22, 59, tzinfo=UTC)


def test_no_date_is_an_error() -> None:
    with pytest.raises(UnparsableDateError):
        parse_swedish_datetime("#12", FETCHED)


def test_html_to_text_keeps_lines_and_drops_markup() -> None:
    html = (
        '<p>Hej <a href="/tags/lvu">#<span>LVU</span></a><br>rad\ntvå</p><p>&amp; <span class="invisible">'
        'https://</span><span class="ellipsis">example.com/a</span><span class="invisible">bc</span></p>'
        "<script>alert(1)</script>"
    )
    assert html_to_text(html) == "Hej #LVU\nrad två\n\n& https://example.com/abc"
    assert html_to_text("") == ""
