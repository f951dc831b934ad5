"""Scores from a model directory: batched by length, in inference mode, int8 on CPU for large models.

Sorting texts by length before batching keeps padding small. Dynamic int8 quantisation of the linear
layers pays off for BERT-base-sized checkpoints; for the small default model it does not (847 against 892
posts/s, bench.classifier), so by default it is used from a hidden size of 512. Scores are calibrated
probabilities; a label is flagged when its score reaches the model's threshold for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as transformers_logging

from models.classifier.model_dir import DEFAULT_MODEL_DIR, ModelDirError, ModelMeta
from models.classifier.ngram import NgramHead
from vaktpost.schema import LABELS, Label

MAX_TOKENS_PER_BATCH = 8192
QUANTIZE_FROM_HIDDEN_SIZE = 512


def calibrate(logits: np.ndarray, meta: ModelMeta, ngram_logits: np.ndarray | None = None) -> np.ndarray:
    """Calibrated probabilities: ``sigmoid(a * logit + b [+ c * ngram_logit])`` per label."""
    a = np.array([meta.calibration[label][0] for label in LABELS])
    b = np.array([meta.calibration[label][1] for label in LABELS])
    z = logits * a + b
    if ngram_logits is not None:
        c = np.array([(meta.calibration[label] + [0.0, 0.0, 0.0])[2] for label in LABELS])
        z = z + ngram_logits * c
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def padded(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the longest, and the attention mask."""
    longest = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for row, tokens in enumerate(ids):
        input_ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    return input_ids, mask


def batched_logits(model: Any, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> np.ndarray:
    """Logits in input order; texts are batched longest first, up to a token budget per batch."""
    model.eval()
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    if not texts:
        return out
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    start = 0
    with torch.inference_mode():
        while start < len(order):
            batch = order[start : start + max(1, MAX_TOKENS_PER_BATCH // max(1, len(encoded[order[start]])))]
            input_ids, mask = padded([encoded[i] for i in batch], tokenizer.pad_token_id or 0)
            out[batch] = model(input_ids=input_ids, attention_mask=mask).logits.float().numpy()
            start += len(batch)
    return out


class HarmClassifier:
    """The four harm labels for Swedish texts, from a Vaktpost model directory."""

    def __init__(self, directory: Path | None = None, *, quantize: bool | None = None) -> None:
        self.directory = directory or DEFAULT_MODEL_DIR
        if not self.directory.is_dir():
            raise ModelDirError(f"no model directory at {self.directory}")
        self.meta = ModelMeta.load(self.directory)
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # none in logs and pipes
        try:
            self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(self.directory)
            model = AutoModelForSequenceClassification.from_pretrained(self.directory)
        except (OSError, ValueError) as err:
            raise ModelDirError(f"{self.directory}: cannot load the model ({err})") from err
        if model.config.num_labels != len(LABELS):
            raise ModelDirError(f"{self.directory}: the model has {model.config.num_labels} outputs, not {len(LABELS)}")
        model.eval()
        if quantize is None:
            quantize = getattr(model.config, "hidden_size", 0) >= QUANTIZE_FROM_HIDDEN_SIZE
        if quantize and not torch.cuda.is_available():
            with warnings.catch_warnings():  # torch announces the move of quantisation to torchao on every call
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        self.model = model
        self.ngram = NgramHead.load(self.directory)

    @property
    def tag(self) -> str:
        return self.meta.tag

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, one row per text in input order."""
        return batched_logits(self.model, self.tokenizer, texts, self.meta.max_length)

    def scores(self, texts: Sequence[str]) -> list[dict[Label, float]]:
        ngram = self.ngram.logits(texts) if self.ngram is not None and texts else None
        probabilities = calibrate(self.logits(texts), self.meta, ngram)
        return [{label: float(row[i]) for i, label in enumerate(LABELS)} for row in probabilities]

    def flags(self, scores: dict[Label, float]) -> list[Label]:
        return [label for label in LABELS if scores[label] >= self.meta.thresholds[label]]
