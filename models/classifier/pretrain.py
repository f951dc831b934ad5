"""Pretrain a small BERT from scratch with masked-language modelling on the Swedish corpora.

    python -m models.classifier.pretrain [--out build/classifier/pretrained] [--minutes 35] [--size mini]

Trains the tokenizer first (``models.classifier.tokenizer``), then packs corpus paragraphs and the
dataset's training texts into 128-token sequences and trains until the time budget is spent, with a
linear learning-rate decay planned from the measured speed. A checkpoint (``save_pretrained``) is written
every few minutes, so a killed run keeps what it learnt. Uses every CPU thread, or a GPU when present.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

import torch
from rich.console import Console
from transformers import BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling, PreTrainedTokenizerFast

from models.classifier.dataset import SPLITS_DIR, read_jsonl
from models.classifier.tokenizer import corpus_texts, train_tokenizer
from models.spacy.prepare import REPO_ROOT, shared_data_dir

SEQUENCE_LENGTH = 128
SIZES = {
    # name: (hidden, layers, heads, intermediate)
    "tiny": (128, 2, 2, 512),
    "mini": (128, 4, 2, 512),  # the default: 300 posts/s on 2 cores leaves room for little more
    "small": (256, 4, 4, 1024),
    "medium": (384, 6, 6, 1536),
    "base": (768, 12, 12, 3072),  # BERT-base, for comparison only
}
console = Console(stderr=True)


def bert_config(tokenizer: PreTrainedTokenizerFast, size: str) -> BertConfig:
    hidden, layers, heads, intermediate = SIZES[size]
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )


def packed_sequences(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str], limit: int) -> list[list[int]]:
    """Token ids cut into [CLS] ... [SEP] sequences of ``SEQUENCE_LENGTH`` (documents run on)."""
    body = SEQUENCE_LENGTH - 2
    sequences: list[list[int]] = []
    buffer: list[int] = []
    for text in texts:
        buffer.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        buffer.append(tokenizer.sep_token_id)
        while len(buffer) >= body:
            chunk, buffer = buffer[:body], buffer[body:]
            sequences.append([tokenizer.cls_token_id, *chunk, tokenizer.sep_token_id])
            if len(sequences) >= limit:
                return sequences
    return sequences


def masked_lm_loss(model: BertForMaskedLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy on the masked positions only: projecting every position onto the vocabulary would cost
    most of the step."""
    hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).last_hidden_state
    labels = batch["labels"]
    masked = labels != -100
    logits = model.cls(hidden[masked])
    return torch.nn.functional.cross_entropy(logits, labels[masked])


def _dataset_texts(repeat: int) -> Iterator[str]:
    train = SPLITS_DIR / "train.jsonl"
    texts = [e.text for e in read_jsonl(train)] if train.exists() else []
    for _ in range(repeat):
        yield from texts


def pretrain(
    out: Path, minutes: float, size: str, sequences: int, seed: int = 0, learning_rate: float = 5e-4, warmup: int = 100
) -> dict[str, float]:
    torch.manual_seed(seed)
    random.seed(seed)
    data = shared_data_dir()
    out.mkdir(parents=True, exist_ok=True)
    console.print("training the tokenizer")
    tokenizer = train_tokenizer(chain(corpus_texts(data, seed), _dataset_texts(3)))
    tokenizer.save_pretrained(out)
    console.print(f"vocabulary {len(tokenizer)}; packing sequences")
    texts = list(chain(corpus_texts(data, seed + 1), _dataset_texts(5)))
    random.Random(seed).shuffle(texts)  # noqa: S311 - shuffling, not cryptography
    packed = packed_sequences(tokenizer, texts, sequences)
    console.print(f"{len(packed)} sequences of {SEQUENCE_LENGTH} tokens")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = BertForMaskedLM(bert_config(tokenizer, size))
    model.to(device)  # type: ignore[arg-type]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    batch_size = 64 if device.type == "cpu" else 256
    budget = minutes * 60
    started = time.monotonic()
    planned = 0
    step = 0
    losses: list[float] = []
    last_save = started
    model.train()
    order = list(range(len(packed)))
    while True:
        random.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = collator([{"input_ids": packed[i]} for i in order[start : start + batch_size]])
            batch = {k: v.to(device) for k, v in batch.items()}
            if step == 20:  # plan the schedule from the measured speed
                per_step = (time.monotonic() - started) / 20
                planned = max(40, int(budget / per_step))
                console.print(f"{per_step:.2f} s/step -> about {planned} steps in {minutes:.0f} min")
            lr = learning_rate * min(1.0, (step + 1) / warmup) * (max(0.05, 1 - step / planned) if planned else 1.0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = masked_lm_loss(model, batch)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            step += 1
            now = time.monotonic()
            if step % 50 == 0:
                recent = sum(losses[-50:]) / len(losses[-50:])
                console.print(f"step {step}  loss {recent:.3f}  {now - started:.0f} s")
            if now - last_save > 300:
                model.save_pretrained(out)
                last_save = now
            if now - started > budget:
                break
        else:
            continue
        break
    model.save_pretrained(out)
    result = {
        "steps": step,
        "sequences_seen": step * batch_size,
        "final_loss": sum(losses[-50:]) / max(1, len(losses[-50:])),
        "minutes": (time.monotonic() - started) / 60,
        "perplexity": math.exp(min(20.0, sum(losses[-50:]) / max(1, len(losses[-50:])))),
    }
    record = {"size": size, "learning_rate": learning_rate, **result}
    (out / "pretraining.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "classifier" / "pretrained")
    parser.add_argument("--minutes", type=float, default=35.0)
    parser.add_argument("--size", choices=sorted(SIZES), default="mini")
    parser.add_argument("--sequences", type=int, default=200_000, help="most packed sequences to keep")
    parser.add_argument("--learning-rate", type=float, default=5e-4, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=100, help="steps of linear warm-up")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    result = pretrain(
        args.out, args.minutes, args.size, args.sequences, learning_rate=args.learning_rate, warmup=args.warmup
    )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
