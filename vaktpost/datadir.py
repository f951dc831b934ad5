"""The layout of the data dir: the one place everything a run writes ends up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "vaktpost.db"

    @property
    def warc(self) -> Path:
        return self.root / "warc"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def alerts(self) -> Path:
        return self.root / "alerts"

    @property
    def accounts(self) -> Path:
        """The review app's accounts and sessions (argon2 hashes), apart from the monitored data."""
        return self.root / "accounts.db"

    @property
    def spool(self) -> Path:
        """Analysed posts the store could not take, delivered first thing in the next run."""
        return self.root / "spool"

    @property
    def http_cache(self) -> Path:
        return self.root / "httpcache"

    def run_dir(self, run_id: str) -> Path:
        return self.runs / run_id

    def ensure(self) -> DataDir:
        for path in (self.root, self.warc, self.state, self.runs, self.secrets, self.alerts):
            path.mkdir(parents=True, exist_ok=True)
        self.secrets.chmod(0o700)
        return self
