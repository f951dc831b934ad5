"""Noise that makes training text look like real posts: typos, lost diacritics, shouting, no punctuation.

Each call draws one or two of the corruptions; the labels stay the same. Real posts are written on phones,
in anger and in a hurry; a model that has only seen clean text drops sharply on them.
"""

from __future__ import annotations

import random
import re

from models.text import fold

_PUNCTUATION = re.compile(r"[.,!?;:]")


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, len(chars) // 40)):
        if len(chars) < 4:
            break
        i = rng.randrange(1, len(chars) - 1)
        kind = rng.random()
        if not chars[i].isalpha():
            continue
        if kind < 0.35:
            del chars[i]  # a dropped letter
        elif kind < 0.7:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]  # swapped letters
        else:
            chars.insert(i, chars[i])  # a doubled letter
    return "".join(chars)


def _no_diacritics(text: str, rng: random.Random) -> str:
    folded = fold(text)
    return "".join(f if o.islower() or not o.isalpha() else f.upper() for o, f in zip(text, folded, strict=True))


def _case(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.5 else text.lower()


def _no_punctuation(text: str, rng: random.Random) -> str:
    return re.sub(r"\s+", " ", _PUNCTUATION.sub(" ", text)).strip()


CORRUPTIONS = (_typos, _no_diacritics, _case, _no_punctuation)


def noisy(text: str, rng: random.Random) -> str:
    for corruption in rng.sample(CORRUPTIONS, k=rng.choice((1, 1, 2))):
        text = corruption(text, rng)
    return text
