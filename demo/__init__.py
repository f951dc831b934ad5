"""The bundled demo: a fictional Swedish corpus served in the real formats of Flashback and Mastodon.

``serve_demo()`` starts the replay server and gives the sources that crawl it, so ``vaktpost run`` works
on a laptop with nothing configured and nothing installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from demo.corpus import Corpus
from demo.flashback_site import FlashbackSite
from demo.mastodon_site import MastodonSite
from demo.replay import ReplayServer
from vaktpost.settings import FlashbackSource, MastodonSource

FLASHBACK_HOST = "flashback.vaktpost-demo.se"
DEMO_DAYS = 60  # the corpus spans 40 days; a first demo crawl reaches all of it


@dataclass(frozen=True)
class DemoSite:
    proxy: str
    sources: list[FlashbackSource | MastodonSource]
    corpus: Corpus
    server: ReplayServer


@contextmanager
def serve_demo(anchor: datetime | None = None, hide_days: int = -1) -> Iterator[DemoSite]:
    """Serve the demo corpus; ``hide_days`` hides posts newer than that many days (to grow the site later)."""
    corpus = Corpus.load(anchor)
    corpus.hide_days = hide_days
    sites = {FLASHBACK_HOST: FlashbackSite(corpus), corpus.instance: MastodonSite(corpus)}
    with ReplayServer(sites) as server:  # type: ignore[arg-type]
        sources: list[FlashbackSource | MastodonSource] = [
            FlashbackSource(
                kind="flashback",
                name="flashback",
                base_url=f"http://{FLASHBACK_HOST}",
                forums=[forum.id for forum in corpus.forums],
                delay_s=0.0,
                since_days=DEMO_DAYS,
            ),
            MastodonSource(
                kind="mastodon",
                name="mastodon",
                base_url=f"http://{corpus.instance}",
                hashtags=["lvu", "socialtjänsten", "soc"],
                delay_s=0.0,
                since_days=DEMO_DAYS,
            ),
        ]
        yield DemoSite(server.url, sources, corpus, server)
