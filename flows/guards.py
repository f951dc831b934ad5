"""Checks a run makes before it starts, kept apart from Prefect so the CLI can make them in a blink."""

from __future__ import annotations

from index import Store
from vaktpost.settings import Settings

DEMO_META = "holds_demo_data"


class DataDirMismatchError(RuntimeError):
    """The data dir holds the fictional demo and the run is about real sources, or the other way round."""


def check_demo_separation(settings: Settings, store: Store) -> bool:
    """True when this run is a demo run (no sources configured at all, not even disabled ones).

    Raises when the run would mix demo and real data in one data dir.
    """
    holds_demo = store.get_meta(DEMO_META)
    if settings.sources and holds_demo == "1":
        raise DataDirMismatchError(
            f"the data dir {settings.data_dir} holds the fictional demo's posts; monitor real sources in an "
            "empty data dir (set data_dir or VAKTPOST_DATA_DIR) so demo and real data never mix"
        )
    if not settings.sources and holds_demo == "0":
        raise DataDirMismatchError(
            f"no sources are configured, but the data dir {settings.data_dir} holds real monitoring data; "
            "configure [[sources]] again, or run the demo with another data dir"
        )
    return not settings.sources


def mark_data_dir(store: Store, demo: bool) -> None:
    store.set_meta(DEMO_META, "1" if demo else "0")
