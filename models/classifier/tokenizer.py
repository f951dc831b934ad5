"""A Swedish WordPiece tokenizer trained on the shared corpora and the training split of the dataset.

Text is lower-cased and accents are stripped before it is cut into pieces, so "socialtjänsten",
"Socialtjansten" and "SOCIALTJÄNSTEN" are the same tokens: posts drop å/ä/ö all the time, and the model
should not have to learn every spelling twice.
"""

from __future__ import annotations

import json
import lzma
import random
from collections.abc import Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

VOCAB_SIZE = 16000
SPECIAL_TOKENS = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
# (file under the shared data dir, share of its documents to read): modern Swedish of several registers
CORPORA = (
    ("corpus_riksdagen_docs_2018_2021/riksdagen_mot_bet_prop_2018-2021.jsonl.xz", 0.35),
    ("corpus_regeringen_g0vse/regeringen_se_pages.jsonl.xz", 0.6),
    ("corpus_almedalen_events/almedalen_event_descriptions_2009-2023.jsonl.xz", 1.0),
    ("absabank_imm/absabank-imm_train.jsonl", 1.0),
)


def corpus_texts(data: Path, seed: int = 0) -> Iterator[str]:
    """Paragraph-sized texts from the shared corpora (a seeded sample of documents)."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not cryptography
    for relative, share in CORPORA:
        path = data / relative
        if not path.exists():
            continue
        opener = lzma.open if path.suffix == ".xz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if rng.random() >= share:
                    continue
                text = json.loads(line).get("text")
                if isinstance(text, str):
                    for paragraph in text.split("\n"):
                        if len(paragraph.split()) >= 5:
                            yield paragraph


def train_tokenizer(texts: Iterator[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.WordPiece(unk_token=SPECIAL_TOKENS["unk_token"], max_input_chars_per_word=50))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=True, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=3,
        special_tokens=list(SPECIAL_TOKENS.values()),
        continuing_subword_prefix="##",
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, model_max_length=512, **SPECIAL_TOKENS
    )
