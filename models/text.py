"""Text normalisation that keeps character offsets: what the lexicon and matchers compare against."""

from __future__ import annotations

_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "è": "e", "ü": "u", "æ": "a", "ø": "o", "á": "a"})


def fold(text: str) -> str:
    """Lower-case and strip Swedish diacritics character by character, so offsets stay aligned.

    People write "soc", "Soc", "SOCEN", "handlaggare": the lexicon matches all of them on folded text.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a character that lower-cases to two ("İ") keeps its case
        lowered = "".join(ch if len(low := ch.lower()) != 1 else low for ch in text)
    return lowered.translate(_FOLD)
