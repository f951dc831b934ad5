"""The classifier's directory: Hugging Face ``save_pretrained`` files plus ``vaktpost.json``.

``vaktpost.json`` holds what turns logits into decisions:
- the label order;
- per-label Platt calibration ``[a, b]``, giving ``p = sigmoid(a * logit + b)``, or ``[a, b, c]``, adding
  ``+ c * ngram_logit`` when the directory has an n-gram head (``ngram.npz``);
- per-label thresholds on the calibrated score;
- the name and version, the base it was fine-tuned from, and the maximum input length.

A directory without ``vaktpost.json`` is not a Vaktpost model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vaktpost.schema import LABELS

META_FILE = "vaktpost.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "sv_harm"


class ModelDirError(ValueError):
    """A model directory that cannot be used; the message says which file and what is wrong."""


@dataclass
class ModelMeta:
    name: str
    version: str
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LABELS, 0.5))
    calibration: dict[str, list[float]] = field(default_factory=lambda: {label: [1.0, 0.0] for label in LABELS})
    base: str = ""
    max_length: int = 256
    pii_doxxing: bool = True
    """Combine the personal-data pack's exposure score into the doxxing score (max of the two)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    def save(self, directory: Path) -> None:
        (directory / META_FILE).write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ModelMeta:
        path = directory / META_FILE
        if not path.exists():
            raise ModelDirError(f"{directory} is not a Vaktpost model: {META_FILE} is missing")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            meta = cls(**raw)
        except (json.JSONDecodeError, TypeError) as err:
            raise ModelDirError(f"{path}: {err}") from err
        if list(meta.labels) != list(LABELS):
            raise ModelDirError(f"{path}: labels {meta.labels} differ from {list(LABELS)}")
        missing = [label for label in LABELS if label not in meta.thresholds or label not in meta.calibration]
        if missing:
            raise ModelDirError(f"{path}: no threshold or calibration for {missing}")
        return meta
