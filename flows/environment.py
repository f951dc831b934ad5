"""Prefect reads its settings when it is imported: point it at the data dir before that happens."""

from __future__ import annotations

import os
from pathlib import Path

from vaktpost.datadir import DataDir
from vaktpost.settings import Settings


def prepare_prefect(settings: Settings) -> None:
    """Local runs keep Prefect's database under the data dir; an operator's own settings win."""
    home = DataDir(settings.data_dir).prefect_home.resolve()
    os.environ.setdefault("PREFECT_HOME", str(home))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # A first run migrates a fresh Prefect database, which takes longer than Prefect's default wait.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
