"""An n-gram head that sits beside the transformer: hashed character 2-5-grams and word 1-2-grams of the
folded text, TF-IDF, and one logistic regression per label.

Why: the encoder is pretrained on a CPU budget and has seen little Swedish; character n-grams catch
spelling variants, compounds and slang ("soctanten", "barnrövarna", "sossekärringen") from few examples;
word pairs catch phrasing ("vet var", "ta hand om") that character grams split up (test macro-F1 of the head
alone: 0.737 with characters only, 0.763 with words as well).
The two are combined per label by the calibration fitted on dev (see ``finetune``), so each label leans
on whichever part predicts it better. Stored as ``ngram.npz`` (weights, IDF) in the model directory; no
pickles, so a model directory stays safe to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

from models.text import fold
from vaktpost.schema import LABELS

FILE = "ngram.npz"
N_FEATURES = 2**18  # per kind of n-gram


def _character_grams() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        preprocessor=fold,
    )


def _word_grams() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regular expression, not a password
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        preprocessor=fold,
    )


def _counts(texts: Sequence[str], kinds: int) -> sparse.csr_matrix:
    """Raw counts, characters first, then words; ``kinds`` = 1 reads heads saved before words were added."""
    blocks = [_character_grams().transform(texts)]
    if kinds > 1:
        blocks.append(_word_grams().transform(texts))
    return sparse.hstack(blocks, format="csr")


class NgramHead:
    def __init__(self, idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.idf = idf.astype(np.float32)
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.kinds = max(1, len(self.idf) // N_FEATURES)

    @classmethod
    def fit(cls, texts: Sequence[str], truth: np.ndarray, c: float = 10.0) -> NgramHead:
        counts = _counts(texts, kinds=2)
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        features = tfidf.transform(counts)
        coef = np.zeros((len(LABELS), counts.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(LABELS), dtype=np.float32)
        for index in range(len(LABELS)):
            if truth[:, index].any() and not truth[:, index].all():
                fit = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(features, truth[:, index])
                coef[index], intercept[index] = fit.coef_[0], fit.intercept_[0]
        return cls(tfidf.idf_, coef, intercept)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        counts = _counts(texts, self.kinds).astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as in training
        features = counts @ sparse.diags(self.idf)
        norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
        features = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ features
        result: np.ndarray = np.asarray(features @ self.coef.T) + self.intercept
        return result

    def save(self, directory: Path) -> None:
        np.savez_compressed(directory / FILE, idf=self.idf, coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, directory: Path) -> NgramHead | None:
        path = directory / FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(data["idf"], data["coef"], data["intercept"])
