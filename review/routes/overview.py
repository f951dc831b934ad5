"""The overview (/oversikt): flagged posts per day and label, per source and per label over 7, 30 or 90 days,
as server-rendered SVG charts with tables of the same numbers, and the busiest threads and accounts.

Days are UTC dates, as the store counts them. The busiest threads and accounts are counted over the newest
flagged posts of the period (at most ``SCAN_LIMIT``); accounts are shown by their pseudonym, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from index import SearchQuery, Store
from review import charts
from review.accounts import Session
from review.routes.posts import post_href
from review.web import ANY_ROLE, audit, render, services
from vaktpost.schema import LABELS
from vaktpost.swedish import LABEL_NAMES

router = APIRouter()

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
SCAN_LIMIT = 5_000
SCAN_PAGE = 1_000
TOP = 10
CACHE_SECONDS = 60.0
MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def pseudonym(author_id: str, keep: int = 10) -> str:
    return author_id if len(author_id) <= keep + 2 else author_id[:keep] + "…"


@dataclass
class Thread:
    thread_id: str
    source: str
    posts: int = 0
    title: str | None = None
    first_post: str = ""
    first_at: datetime | None = None

    @property
    def url(self) -> str:
        return post_href(self.first_post)


@dataclass
class Account:
    author_id: str
    posts: int = 0
    threads: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    last_at: datetime | None = None

    @property
    def short(self) -> str:
        return pseudonym(self.author_id)


@dataclass(frozen=True)
class Busiest:
    threads: list[Thread]
    accounts: list[Account]
    scanned: int
    total: int


def period(days: int, now: datetime) -> tuple[datetime, datetime, list[date]]:
    """``days`` whole UTC days up to and including today: (since, until exclusive, the days)."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, UTC)
    until = datetime.combine(today + timedelta(days=1), time.min, UTC)
    return since, until, [first + timedelta(days=i) for i in range(days)]


def busiest(store: Store, since: datetime, until: datetime, limit: int = SCAN_LIMIT) -> Busiest:
    """The threads and accounts with the most flagged posts among the newest ``limit`` of the period."""
    threads: dict[str, Thread] = {}
    accounts: dict[str, Account] = {}
    scanned, total, offset = 0, 0, 0
    while scanned < limit:
        page = store.search(
            SearchQuery(since=since, until=until, sort="newest", limit=min(SCAN_PAGE, limit - scanned), offset=offset)
        )
        total = page.total
        if not page.items:
            break
        for item in page.items:
            post = item.post
            if post.thread_id:
                thread = threads.setdefault(post.thread_id, Thread(post.thread_id, post.source))
                thread.posts += 1
                if thread.first_at is None or post.created_at <= thread.first_at:
                    thread.first_at, thread.first_post = post.created_at, post.id
                    thread.title = post.title or thread.title
                else:
                    thread.title = thread.title or post.title
            if post.author_id:
                account = accounts.setdefault(post.author_id, Account(post.author_id))
                account.posts += 1
                account.sources.add(post.source)
                if post.thread_id:
                    account.threads.add(post.thread_id)
                if account.last_at is None or post.created_at > account.last_at:
                    account.last_at = post.created_at
        scanned += len(page.items)
        offset += len(page.items)
        if offset >= page.total:
            break
    top_threads = sorted(threads.values(), key=lambda t: (-t.posts, t.thread_id))[:TOP]
    top_accounts = sorted(accounts.values(), key=lambda a: (-a.posts, a.author_id))[:TOP]
    return Busiest(top_threads, top_accounts, scanned, total)


def _days(raw: str | None) -> int:
    try:
        days = int(raw or DEFAULT_PERIOD)
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def _day_label(day: date, span: int) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}" if span > 7 else f"{day.day}/{day.month}"


def figures(store: Store, days: int, now: datetime) -> dict[str, object]:
    """Everything the overview shows for a period: the counts, the charts and the busiest threads and accounts."""
    since, until, period_days = period(days, now)
    query = SearchQuery(since=since, until=until)
    keys = [day.isoformat() for day in period_days]
    per_label_day = {
        label: store.counts(SearchQuery(labels=[label], since=since, until=until), "day") for label in LABELS
    }
    posts_per_day = store.counts(query, "day")
    per_source = sorted(store.counts(query, "source").items(), key=lambda kv: (-kv[1], kv[0]))
    per_label = store.counts(query, "label")
    series = [
        charts.Series(label, LABEL_NAMES.get(label, label), [per_label_day[label].get(key, 0) for key in keys])
        for label in LABELS
    ]
    label_rows = [(label, LABEL_NAMES.get(label, label), per_label.get(label, 0)) for label in LABELS]
    period_name = f"de senaste {days} dagarna ({period_days[0].isoformat()}–{period_days[-1].isoformat()})"
    return {
        "days": days,
        "period_days": period_days,
        "total": sum(count for _, count in per_source),
        "series": series,
        "day_rows": [
            (day, [item.values[index] for item in series], posts_per_day.get(keys[index], 0))
            for index, day in enumerate(period_days)
        ],
        "label_rows": label_rows,
        "per_source": per_source,
        "day_chart": charts.stacked_columns(
            keys,
            series,
            ident="per-dag",
            title=f"Flaggade inlägg per dag och etikett, {period_name}",
            description="En färg per etikett. Ett inlägg med flera etiketter räknas en gång per etikett.",
            tick_labels=[_day_label(day, days) for day in period_days],
        ),
        "source_chart": charts.horizontal_bars(
            per_source, ident="per-kalla", title=f"Flaggade inlägg per källa, {period_name}"
        ),
        "label_chart": charts.horizontal_bars(
            [(name, count) for _, name, count in label_rows],
            ident="per-etikett",
            title=f"Flaggade inlägg per etikett, {period_name}",
            keys=[label for label, _, _ in label_rows],
        ),
        "busiest": busiest(store, since, until),
    }


def cached_figures(request: Request, days: int) -> dict[str, object]:
    """``figures``, kept for ``CACHE_SECONDS`` per app and period: switching periods or reloading stays quick
    on a large store, and the numbers only change when a run adds posts."""
    state = request.app.state
    cache: dict[tuple[int, date], tuple[float, dict[str, object]]] | None = getattr(state, "overview_cache", None)
    if cache is None:
        cache = state.overview_cache = {}
    now = datetime.now(UTC)
    key = (days, now.date())
    found = cache.get(key)
    if found is not None and monotonic() - found[0] < CACHE_SECONDS:
        return found[1]
    computed = figures(services(request).store, days, now)
    for stale in [other for other in list(cache) if other[1] != key[1]]:  # list(): requests run in threads
        cache.pop(stale, None)  # one entry per period at most, none from yesterday
    cache[key] = (monotonic(), computed)
    return computed


@router.get("/oversikt")
def overview(request: Request, session: Annotated[Session, Depends(ANY_ROLE)], dagar: str | None = None) -> Response:
    days = _days(dagar)
    context = cached_figures(request, days) | {"periods": PERIODS, "cache_seconds": CACHE_SECONDS}
    audit(request, session, "overview_view", detail=f"dagar={days}")
    return render(request, "overview.html", context)
