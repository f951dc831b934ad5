"""Fine-tune a checkpoint for the four labels, calibrate, choose thresholds and evaluate.

    vaktpost train --base DIR [--out DIR] [--epochs N]      (or python -m models.classifier.finetune)

``--base`` is any local Hugging Face checkpoint with a tokenizer: the project's own pretrained encoder
(``build/classifier/pretrained``) or a Swedish BERT downloaded elsewhere. Training uses the dataset's train
split with noise augmentation (``models.classifier.augment``) and keeps the epoch with the best dev
macro-F1. Per-label Platt scaling is fitted on dev logits, thresholds are chosen on the calibrated dev
scores (for doxxing: on the maximum of the model's score and the personal-data pack's), and the test split
is scored once at the end. The output directory is a complete model directory (see ``model_dir``).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from models.classifier.augment import noisy
from models.classifier.card import write_model_card
from models.classifier.dataset import DATA_DIR, SPLITS_DIR, Example, read_jsonl
from models.classifier.metrics import best_thresholds, evaluate_scores, label_matrix
from models.classifier.model_dir import ModelMeta
from models.classifier.ngram import NgramHead
from models.classifier.predict import batched_logits, calibrate, padded
from vaktpost.schema import LABELS

console = Console(stderr=True)


def _length_buckets(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within pools of 20 batches): little padding, still random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 20
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def fit_calibration(
    logits: np.ndarray, truth: np.ndarray, ngram_logits: np.ndarray | None = None
) -> dict[str, list[float]]:
    """Platt scaling per label on held-out logits: p = sigmoid(a * logit + b), and with the n-gram head
    p = sigmoid(a * logit + b + c * ngram_logit), which also weighs the two parts per label."""
    calibration: dict[str, list[float]] = {}
    for index, label in enumerate(LABELS):
        if truth[:, index].all() or not truth[:, index].any():
            calibration[label] = [1.0, 0.0] + ([0.0] if ngram_logits is not None else [])
            continue
        columns = [logits[:, index]] + ([ngram_logits[:, index]] if ngram_logits is not None else [])
        fit = LogisticRegression(C=100.0).fit(np.stack(columns, axis=1), truth[:, index])
        weights = [float(w) for w in fit.coef_[0]]
        calibration[label] = [weights[0], float(fit.intercept_[0]), *weights[1:]]
    return calibration


def _scores(probabilities: np.ndarray, pii: Sequence[float] | None) -> list[dict[str, float]]:
    rows = []
    for i, row in enumerate(probabilities):
        scores: dict[str, float] = {label: float(row[j]) for j, label in enumerate(LABELS)}
        if pii is not None:
            scores["doxxing"] = max(scores["doxxing"], pii[i])
        rows.append(scores)
    return rows


def _pii_scores(texts: Sequence[str]) -> list[float]:
    from models.classifier.analyzer import pii_doxxing_scores
    from models.lexicon import Lexicon
    from models.pii import PiiDetector

    return pii_doxxing_scores(texts, PiiDetector(), Lexicon())


def finetune(
    base: Path,
    out: Path,
    *,
    epochs: int = 12,
    learning_rate: float = 3e-4,
    batch_size: int = 32,
    max_length: int = 256,
    augment: float = 0.5,
    pii_doxxing: bool = True,
    ngram: bool = True,
    splits: Path = SPLITS_DIR,
    name: str = "sv_harm",
    version: str = "0.1.0",
    seed: int = 0,
) -> dict[str, Any]:
    torch.manual_seed(seed)
    rng = random.Random(seed)  # noqa: S311 - augmentation, not cryptography
    train, dev, test = (read_jsonl(splits / f"{name_}.jsonl") for name_ in ("train", "dev", "test"))
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), problem_type="multi_label_classification",
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    )  # fmt: skip
    truth_train = torch.tensor(label_matrix([e.labels for e in train]), dtype=torch.float32)
    positives = truth_train.sum(dim=0)
    pos_weight = ((len(train) - positives) / positives.clamp(min=1)).clamp(max=4.0)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps_total = epochs * ((len(train) + batch_size - 1) // batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (0.06 * steps_total)) * max(0.0, 1 - step / steps_total)
    )
    dev_texts = [e.text for e in dev]
    best: tuple[float, int, dict[str, Any]] = (-1.0, -1, {})
    history = []
    started = time.monotonic()
    for epoch in range(epochs):
        model.train()
        for batch in _length_buckets([len(e.text) for e in train], batch_size, rng):
            texts = [noisy(train[i].text, rng) if rng.random() < augment else train[i].text for i in batch]
            encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
            input_ids, mask = padded(encoded, tokenizer.pad_token_id or 0)
            logits = model(input_ids=input_ids, attention_mask=mask).logits
            loss = loss_fn(logits, truth_train[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        dev_logits = batched_logits(model, tokenizer, dev_texts, max_length)
        probabilities = 1 / (1 + np.exp(-dev_logits))
        dev_scores = _scores(probabilities, None)
        result = evaluate_scores(
            [e.labels for e in dev], dev_scores, best_thresholds([e.labels for e in dev], dev_scores)
        )
        history.append({"epoch": epoch + 1, "dev_macro_f1": result["macro_f1"], "seconds": time.monotonic() - started})
        console.print(f"epoch {epoch + 1}: dev macro-F1 {result['macro_f1']:.3f} ({time.monotonic() - started:.0f} s)")
        if result["macro_f1"] > best[0]:
            best = (result["macro_f1"], epoch + 1, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    meta = ModelMeta(name=name, version=version, base=str(base), max_length=max_length, pii_doxxing=pii_doxxing)
    meta.extra = {"trained": {"best_epoch": best[1], "epochs": epochs, "learning_rate": learning_rate, "ngram": ngram}}
    minutes = (time.monotonic() - started) / 60
    training = {"base": str(base), "best_epoch": best[1], "history": history, "minutes": minutes}
    return finish(model, tokenizer, meta, base, out, (train, dev, test), training, ngram=ngram, splits=splits)


def finish(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    meta: ModelMeta,
    base: Path,
    out: Path,
    data: tuple[list[Example], list[Example], list[Example]],
    training: dict[str, Any],
    *,
    ngram: bool = True,
    splits: Path = SPLITS_DIR,
) -> dict[str, Any]:
    """Everything after the encoder's training: n-gram head, calibration and thresholds on dev, the test
    (and challenge) evaluation, and the complete model directory with its card."""
    train, dev, test = data
    dev_texts = [e.text for e in dev]
    dev_truth = label_matrix([e.labels for e in dev])
    truth_train = label_matrix([e.labels for e in train])
    dev_logits = batched_logits(model, tokenizer, dev_texts, meta.max_length)
    head = NgramHead.fit([e.text for e in train], truth_train) if ngram else None
    dev_ngram = head.logits(dev_texts) if head is not None else None
    meta.calibration = fit_calibration(dev_logits, dev_truth, dev_ngram)
    dev_pii = _pii_scores(dev_texts) if meta.pii_doxxing else None
    dev_scores = _scores(calibrate(dev_logits, meta, dev_ngram), dev_pii)
    meta.thresholds = best_thresholds([e.labels for e in dev], dev_scores)
    report = training | {
        "dev": evaluate_scores([e.labels for e in dev], dev_scores, meta.thresholds),
        "test": evaluate_split(model, tokenizer, meta, test, head),
        "train_examples": len(train),
    }
    challenge = DATA_DIR / "challenge.jsonl"
    if challenge.exists() and splits == SPLITS_DIR:
        report["challenge"] = evaluate_split(model, tokenizer, meta, read_jsonl(challenge, strict=False), head)
    if head is not None:  # what the n-gram head adds: the same model, calibrated and thresholded without it
        alone = copy.deepcopy(meta)
        alone.calibration = fit_calibration(dev_logits, dev_truth)
        alone_dev = _scores(calibrate(dev_logits, alone), dev_pii)
        alone.thresholds = best_thresholds([e.labels for e in dev], alone_dev)
        report["transformer_only"] = {"test": evaluate_split(model, tokenizer, alone, test, None)}
        if "challenge" in report:
            challenge_set = read_jsonl(challenge, strict=False)
            report["transformer_only"]["challenge"] = evaluate_split(model, tokenizer, alone, challenge_set, None)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    meta.save(out)
    if head is not None:
        head.save(out)
    if (base / "pretraining.json").exists():
        shutil.copy(base / "pretraining.json", out / "pretraining.json")
    (out / "evaluation.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    write_model_card(out, meta, report)
    return report


def refit_head(model_dir: Path, out: Path, *, splits: Path = SPLITS_DIR) -> dict[str, Any]:
    """Keep a model directory's fine-tuned encoder and redo the rest on the current data: minutes instead of
    a full fine-tuning, for new examples or reviewers' corrections (retrain the encoder now and then)."""
    train, dev, test = (read_jsonl(splits / f"{name_}.jsonl") for name_ in ("train", "dev", "test"))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    meta = ModelMeta.load(model_dir)
    previous = model_dir / "evaluation.json"
    report = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else {}
    training = {key: report[key] for key in ("base", "best_epoch", "history", "minutes") if key in report}
    base = Path(training.get("base", str(model_dir)))
    if model_dir.resolve() != out.resolve() and (model_dir / "pretraining.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(model_dir / "pretraining.json", out / "pretraining.json")
    return finish(model, tokenizer, meta, base, out, (train, dev, test), training, splits=splits)


def evaluate_split(
    model: Any, tokenizer: PreTrainedTokenizerBase, meta: ModelMeta, split: Sequence[Example], head: NgramHead | None
) -> Any:
    texts = [e.text for e in split]
    logits = batched_logits(model, tokenizer, texts, meta.max_length)
    ngram = head.logits(texts) if head is not None else None
    scores = _scores(calibrate(logits, meta, ngram), _pii_scores(texts) if meta.pii_doxxing else None)
    return evaluate_scores([e.labels for e in split], scores, meta.thresholds)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="a local Hugging Face checkpoint directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--augment", type=float, default=0.5, help="share of training texts made noisy")
    parser.add_argument("--no-pii-doxxing", action="store_true", help="do not fold the pack's score into doxxing")
    parser.add_argument("--no-ngram", action="store_true", help="the transformer alone, without the n-gram head")
    parser.add_argument(
        "--head-only", action="store_true", help="--base is a model directory: keep its encoder, refit the rest"
    )
    args = parser.parse_args(argv)
    if args.head_only:
        report = refit_head(args.base, args.out)
        print(json.dumps({"test_macro_f1": report["test"]["macro_f1"]}))
        return
    report = finetune(
        args.base,
        args.out,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        augment=args.augment,
        pii_doxxing=not args.no_pii_doxxing,
        ngram=not args.no_ngram,
    )
    print(json.dumps({k: report[k] for k in ("best_epoch", "minutes")} | {"test_macro_f1": report["test"]["macro_f1"]}))


if __name__ == "__main__":
    main()
