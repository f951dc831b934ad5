"""Where alerts are delivered. Every channel sends the same privacy-safe Alert and reports success."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from vaktpost.schema import Alert


class DeliveryError(RuntimeError):
    """A channel could not deliver; the alert stays pending and is retried."""


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> None:
        """Deliver or raise DeliveryError."""
        ...


class OutboxChannel:
    """Appends alerts as JSON lines to a file in the data dir (fsync'd): the channel that always works."""

    name = "outbox"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, alert: Alert) -> None:
        line = json.dumps(alert.model_dump(mode="json"), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise DeliveryError(f"cannot write {self.path}: {err}") from err
