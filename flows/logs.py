"""``run.json_logs``: the run's log records as JSON lines in ``<data_dir>/runs/<run_id>/log.jsonl``.

Records carry what the flow logs (ids, counts, source names, errors), never post text: the flow logs none.
Records from Dask worker processes stay in the workers' logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class JsonLinesHandler(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._stream: IO[str] = path.open("a", encoding="utf-8")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry: dict[str, object] = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            for key in ("flow_run_id", "task_run_id", "flow_run_name", "task_run_name"):
                value = getattr(record, key, None)
                if value is not None:
                    entry[key] = str(value)
            if record.exc_info and record.exc_info[0] is not None:
                entry["exception"] = record.exc_info[0].__name__
            with self.lock or _nolock():
                self._stream.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self._stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


@contextmanager
def _nolock() -> Iterator[None]:
    yield


@contextmanager
def json_logs(path: Path, enabled: bool = True) -> Iterator[Path | None]:
    """Write the records of Prefect's loggers and the application's to ``path`` while the block runs."""
    if not enabled:
        yield None
        return
    handler = JsonLinesHandler(path)
    prefect_logger = logging.getLogger("prefect")
    targets = [logging.getLogger()]
    if not prefect_logger.propagate:
        targets.append(prefect_logger)
    for target in targets:
        target.addHandler(handler)
    try:
        yield path
    finally:
        for target in targets:
            target.removeHandler(handler)
        handler.close()
