"""Convert the shared Swedish corpora into spaCy ``DocBin`` files for ``spacy train``.

Run ``python -m models.spacy.prepare`` (``python -m models.spacy.train`` runs it for you). The corpora are
read in place from ``$VAKTPOST_SHARED_DATA`` (default: ``../shared/data`` next to the repository) and are
never copied into the repository; everything written goes under the build directory (default
``build/spacy/``, git-ignored), laid out as the paths in ``models/spacy/config.cfg`` expect::

    build/spacy/train/ud_talbanken.spacy   UPOS + morphology + sentence starts (+ lemmas where UD has them)
    build/spacy/train/ner_klintan.spacy    PER/LOC/ORG entities + sentence starts
    build/spacy/train/ner_suc.spacy        PER/LOC/ORG from SUC 3.0 (silver + manual), with --suc only
    build/spacy/dev/ud_talbanken.spacy     Talbanken dev (v2)
    build/spacy/dev/ner_klintan.spacy      10 % of klintan's train file, held out for model selection
    build/spacy/test/ner_klintan.spacy     klintan's test file: the held-out NER test split
    build/spacy/test/ud_pud.spacy          UD Swedish-PUD: the held-out UPOS/morph/sentence test split
    build/spacy/sv_lemma_lookup.json       the form -> lemma table for the lookup lemmatizer
    build/spacy/manifest.json              options and counts of this run

Splits
    * NER: klintan ``train_corpus.txt`` is cut into 10-sentence documents; a seeded 10 % of those documents
      is the dev set, the rest is training data. Training sentences that also occur in ``test_corpus.txt``
      (23 of them) are dropped so that the test split is truly held out. ``test_corpus.txt`` is the test set.
    * SUC 3.0 (kb-labb ``sucx3_ner``), training only and only with ``--suc``: it lowered klintan dev F1 from
      0.79 to 0.74 in our runs (SUC's conventions and 1990s text differ from web news). It adds the 11,628
      sentences with SUC's *automatic* name tags (silver) and the 2,900 sentences whose *manual* tags differ
      from the automatic ones (gold; the 271 sentences found in both files take the manual tags).
    * UD: training = Talbanken v2 *test* file + the legacy UD v1.0 Talbanken *train* file converted to v2
      (see below); dev = Talbanken v2 dev; test = Swedish-PUD (a different treebank: news/Wikipedia).

Entity labels
    klintan is IO-tagged (``PER``/``LOC``/``ORG``/``MISC``, ``0`` outside): a run of tokens with the same
    type is one entity (B- on the first token, I- on the rest). Two adjacent entities of the same type
    cannot be told apart in IO data and become one. ``MISC`` is handled by ``--misc``: ``missing`` (default:
    the tokens carry no NER annotation, so the model is neither taught that they are names nor that they
    are not; klintan's MISC mixes authorities such as "Socialstyrelsen"/"Polisen" with events and works),
    ``o`` (not an entity) or ``label`` (a fourth label). In the *test* split MISC is always "not an entity",
    the strict reading for a PER/LOC/ORG detector. SUC: ``PER``/``person`` -> PER, ``LOC``/``place`` -> LOC,
    ``ORG``/``inst`` -> ORG; time, measure, work, event, object/product, animal, myth, other -> not an
    entity; SUC's ambiguous double tags (``LOCPRS``, ``ORGPRS``, ``LOCORG``) -> missing annotation.

Missing annotation (several corpora in one training set)
    Every document carries only what its corpus annotates. NER documents have no POS, morphology, tag or
    lemma values, which spaCy treats as *missing* (the tagger/morphologizer losses skip such tokens, and
    they add no empty label), not as "no tag". UD documents have no entity annotation at all (every token's
    ENT_IOB is 0 = missing), so the NER loss and the NER scorer skip them. Sentence starts are set on all
    documents (UD sentence boundaries and klintan/SUC sentence boundaries are both gold).

UD v1 -> v2 (only for the legacy Talbanken train file, used for UPOS + morphology, never for dependencies)
    The v1.0 file has no lemmas and v1 labels. UPOS: ``CONJ`` -> ``CCONJ``, the stray UPOS ``DT`` -> ``DET``,
    ``VERB`` with deprel aux/auxpass/cop -> ``AUX`` (v2's rule for Swedish auxiliaries and the copula).
    Then, as v2 also changed word-specific choices (particles ``ut``/``upp`` ADP -> ADV, ``inte`` ADV -> PART,
    ``som``/``än`` CONJ -> SCONJ ...) and added features (``Mood=Ind``, ``PronType``, ``NumType``,
    ``Polarity``), UPOS and FEATS are re-derived from the v2 Talbanken training data: the majority v2 value
    for the same (lower-cased form, XPOS, UPOS) where it is seen at least 3 times with >= 80 % agreement,
    else the majority for (XPOS, UPOS), else the v1 value. XPOS (the SUC tag) is the same in v1 and v2.

Text
    klintan and SUC come as tokens without spacing and the v1 file has no ``SpaceAfter``: the text is
    rebuilt with a small detokeniser (no space before ``, . : ; ! ? ) ]``, none after ``( [``) so that spaCy's
    tokenizer sees ordinary running text; spaCy aligns its tokens to the gold ones. Soft hyphens and
    zero-width characters are removed from tokens (the project's text corpora had soft hyphens removed
    too). SUC joins multi-word abbreviations with ``_`` (``t_ex``); those are split into separate tokens.

Lemma table
    spacy-lookups-data's ``sv_lemma_lookup`` (MIT; 660,305 forms). Entries whose lemma equals the form and
    keys containing whitespace are dropped (the lookup falls back to the form itself). With
    ``--lemma-table attested`` (default) only forms that occur (case-insensitively) in about 27 M words of
    modern Swedish are kept: the Riksdag, regeringen.se and Almedalen corpora, ABSAbank-Imm's train
    paragraphs and the training sentences. That keeps ~9 % of the entries but ~98.5 % of the table's hits
    on unseen news text (UD PUD) and ~99.4 % on forum text, and it cuts the table from 13 MB and seconds of
    loading to a fraction of that; ``--lemma-table full`` ships all of it. spaCy's lookup is case-sensitive
    and the table is lower-case, so a capitalised variant ("Barnen" -> "barn") is added for every form
    that occurs capitalised in those texts, which covers sentence-initial words.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import os
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import spacy
from spacy.lookups import Lookups
from spacy.tokens import Doc, DocBin
from spacy.util import registry
from spacy.vocab import Vocab

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUILD_DIR = REPO_ROOT / "build" / "spacy"
SENTENCES_PER_DOC = 10
DEV_FRACTION = 0.1
SEED = 13
ENTITY_LABELS = ("PER", "LOC", "ORG")

MiscMode = Literal["missing", "o", "label"]

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_NO_SPACE_BEFORE = frozenset({",", ".", ":", ";", "!", "?", ")", "]", "}", "…"})
_NO_SPACE_AFTER = frozenset({"(", "[", "{"})
_SUC_AUTO = {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "LOCPRS": None, "ORGPRS": None, "LOCORG": None}
_SUC_MANUAL = {"person": "PER", "place": "LOC", "inst": "ORG"}


def shared_data_dir() -> Path:
    """``$VAKTPOST_SHARED_DATA``, else ``../shared/data`` relative to the repository root."""
    env = os.environ.get("VAKTPOST_SHARED_DATA")
    return Path(env).resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


class Sentence(NamedTuple):
    """One gold sentence; ``None`` for an annotation layer its corpus does not have."""

    words: list[str]
    spaces: list[bool]
    ents: list[str] | None = None  # IOB per token: "B-PER", "I-PER", "O", or "" (missing)
    pos: list[str] | None = None
    tags: list[str] | None = None
    morphs: list[str] | None = None
    lemmas: list[str] | None = None


# --------------------------------------------------------------------------------------------------
# Helpers


def clean_token(text: str) -> str:
    return text.translate(_INVISIBLE).strip()


def detokenized_spaces(words: Sequence[str]) -> list[bool]:
    """Whether each token is followed by a space, for text that came without spacing information."""
    spaces = []
    for i, word in enumerate(words):
        if i + 1 == len(words):
            spaces.append(True)
        else:
            spaces.append(word not in _NO_SPACE_AFTER and words[i + 1] not in _NO_SPACE_BEFORE)
    return spaces


def io_to_iob(types: Sequence[str | None]) -> list[str]:
    """Per-token entity types (``"O"`` outside, ``None`` missing) -> IOB tags; a run of one type is one entity."""
    iob = []
    previous: str | None = "O"
    for entity_type in types:
        if entity_type is None:
            iob.append("")
        elif entity_type == "O":
            iob.append("O")
        else:
            iob.append(("I-" if previous == entity_type else "B-") + entity_type)
        previous = entity_type
    return iob


def _split_underscored(words: list[str], iob: list[str]) -> tuple[list[str], list[str]]:
    """SUC writes multi-word abbreviations as one token joined by "_"; split them (the entity continues)."""
    out_words: list[str] = []
    out_iob: list[str] = []
    for word, tag in zip(words, iob, strict=True):
        parts = [part for part in word.split("_") if part] if "_" in word else [word]
        for i, part in enumerate(parts or [word]):
            out_words.append(part)
            out_iob.append("I-" + tag[2:] if i and tag.startswith("B-") else tag)
    return out_words, out_iob


def _make_sentence(words: list[str], iob: list[str]) -> Sentence | None:
    kept = [(clean_token(w), t) for w, t in zip(words, iob, strict=True)]
    kept = [(w, t) for w, t in kept if w]
    if not kept:
        return None
    # A dropped token can leave an I- tag without its B-: repair.
    fixed: list[str] = []
    for i, (_, tag) in enumerate(kept):
        if tag.startswith("I-") and (i == 0 or fixed[i - 1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        fixed.append(tag)
    out_words = [w for w, _ in kept]
    return Sentence(words=out_words, spaces=detokenized_spaces(out_words), ents=fixed)


def sentences_to_docs(vocab: Vocab, sentences: Sequence[Sentence], per_doc: int = SENTENCES_PER_DOC) -> list[Doc]:
    """Consecutive sentences -> documents of ``per_doc`` sentences with gold sentence starts."""
    return [_join(vocab, sentences[i : i + per_doc]) for i in range(0, len(sentences), per_doc)]


def _join(vocab: Vocab, sentences: Sequence[Sentence]) -> Doc:
    words: list[str] = []
    spaces: list[bool] = []
    starts: list[bool | int | None] = []
    layers: dict[str, list[str] | None] = {"ents": [], "pos": [], "tags": [], "morphs": [], "lemmas": []}
    for sentence in sentences:
        words.extend(sentence.words)
        sentence_spaces = list(sentence.spaces)
        sentence_spaces[-1] = True
        spaces.extend(sentence_spaces)
        starts.extend([True] + [False] * (len(sentence.words) - 1))
        for name in layers:
            values: list[str] | None = getattr(sentence, name)
            current = layers[name]
            if values is None or current is None:
                layers[name] = None
            else:
                current.extend(values)
    spaces[-1] = False
    return Doc(
        vocab,
        words=words,
        spaces=spaces,
        sent_starts=starts,
        ents=layers["ents"],
        pos=layers["pos"],
        tags=layers["tags"],
        morphs=layers["morphs"],
        lemmas=layers["lemmas"],
    )


def _write(docs: Iterable[Doc], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_bin = DocBin(store_user_data=False)
    count = 0
    for doc in docs:
        doc_bin.add(doc)
        count += 1
    doc_bin.to_disk(path)
    return count


# --------------------------------------------------------------------------------------------------
# NER corpora


def read_klintan(path: Path, misc: MiscMode) -> list[Sentence]:
    """klintan's ``token<whitespace>label`` lines, blank line between sentences; IO labels -> IOB."""
    mapping: dict[str, str | None] = {"0": "O", "O": "O", "PER": "PER", "LOC": "LOC", "ORG": "ORG"}
    mapping["MISC"] = {"missing": None, "o": "O", "label": "MISC"}[misc]
    sentences: list[Sentence] = []
    words: list[str] = []
    labels: list[str | None] = []

    def flush() -> None:
        if words:
            sentence = _make_sentence(list(words), io_to_iob(labels))
            if sentence:
                sentences.append(sentence)
        words.clear()
        labels.clear()

    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            match = re.match(r"^(.*?)\s+(\S+)$", line)
            if match and match.group(2) in mapping:
                words.append(match.group(1))
                labels.append(mapping[match.group(2)])
            else:  # one stray line has a token and no label
                words.append(line.strip())
                labels.append("O")
    flush()
    return sentences


def read_suc_auto(path: Path) -> list[tuple[tuple[str, ...], Sentence]]:
    """kb-labb's SUC 3.0 sentences with SUC's automatic name tags (no B-/I- prefixes)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            words: list[str] = record["tokens"]
            types = [_SUC_AUTO.get(tag, "O") if tag != "O" else "O" for tag in record["ner_tags"]]
            split_words, iob = _split_underscored(words, io_to_iob(types))
            sentence = _make_sentence(split_words, iob)
            if sentence:
                out.append((tuple(words), sentence))
    return out


def read_suc_manual(path: Path) -> list[tuple[tuple[str, ...], Sentence]]:
    """Sentences where SUC's manual and automatic name tags differ: column 2 = manual BIO tags."""
    out = []
    words: list[str] = []
    iob: list[str] = []

    def flush() -> None:
        if words:
            split_words, split_iob = _split_underscored(list(words), list(iob))
            sentence = _make_sentence(split_words, split_iob)
            if sentence:
                out.append((tuple(words), sentence))
        words.clear()
        iob.clear()

    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) < 2:  # blank line or the sentence id line
                flush()
                continue
            tag = parts[1]
            prefix, _, name = tag.partition("-")
            label = _SUC_MANUAL.get(name)
            if tag == "O" or label is None:
                iob.append("O")
            elif prefix == "I" and iob and iob[-1].endswith(label):
                iob.append("I-" + label)
            else:
                iob.append("B-" + label)
            words.append(parts[0])
    flush()
    return out


# --------------------------------------------------------------------------------------------------
# UD


class UdToken(NamedTuple):
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    deprel: str
    space_after: bool


def read_conllu(path: Path) -> Iterator[tuple[bool, list[UdToken]]]:
    """(starts a new document, tokens) per sentence; multi-word ranges and empty nodes are skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    tokens: list[UdToken] = []
    new_doc = False
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if line.startswith("#"):
                new_doc = new_doc or line.startswith("# newdoc")
                continue
            if not line.strip():
                if tokens:
                    yield new_doc, tokens
                tokens, new_doc = [], False
                continue
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            tokens.append(
                UdToken(
                    form=cols[1],
                    lemma=cols[2],
                    upos=cols[3],
                    xpos=cols[4],
                    feats=cols[5],
                    deprel=cols[7],
                    space_after="SpaceAfter=No" not in cols[9].split("|"),
                )
            )
    if tokens:
        yield new_doc, tokens


def ud_sentence(tokens: Sequence[UdToken], *, has_spacing: bool = True, has_lemmas: bool = True) -> Sentence:
    words = [t.form for t in tokens]
    return Sentence(
        words=words,
        spaces=[t.space_after for t in tokens] if has_spacing else detokenized_spaces(words),
        pos=[t.upos for t in tokens],
        tags=[t.xpos for t in tokens],
        morphs=["" if t.feats == "_" else t.feats for t in tokens],
        lemmas=[t.lemma for t in tokens] if has_lemmas else None,
    )


class UdV1Converter:
    """Maps UD v1.0 Talbanken UPOS/FEATS to v2 using a v2 Talbanken sample (see the module docstring)."""

    def __init__(self, v2_sentences: Iterable[Sequence[UdToken]]) -> None:
        self.by_word: dict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
        self.by_tag: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for sentence in v2_sentences:
            for t in sentence:
                self.by_word[(t.form.lower(), t.xpos)][(t.upos, t.feats)] += 1
                self.by_tag[(t.xpos, t.upos)][t.feats] += 1
        self.stats: Counter[str] = Counter()

    def _word_majority(self, form: str, xpos: str) -> tuple[str, str] | None:
        stats = self.by_word.get((form.lower(), xpos))
        if not stats:
            return None
        value, count = stats.most_common(1)[0]
        return value if count >= 3 and count / stats.total() >= 0.8 else None

    def convert(self, tokens: Sequence[UdToken]) -> list[UdToken]:
        out = []
        for t in tokens:
            upos = {"DT": "DET", "CONJ": "CCONJ"}.get(t.upos, t.upos)
            if upos == "VERB" and t.deprel in {"aux", "auxpass", "cop"}:
                upos = "AUX"
            feats = t.feats
            word = self._word_majority(t.form, t.xpos)
            if word is not None:
                # Auxiliary or main verb is decided by the sentence (the v1 relation), not by the word.
                upos = upos if word[0] in {"VERB", "AUX"} and upos in {"VERB", "AUX"} else word[0]
                feats = word[1]
                self.stats["by_word"] += 1
            tag_stats = self.by_tag.get((t.xpos, upos))
            if (word is None or upos in {"VERB", "AUX"}) and tag_stats:
                feats = tag_stats.most_common(1)[0][0]
                self.stats["by_tag"] += word is None
            elif word is None:
                self.stats["kept_v1"] += 1
            out.append(
                UdToken(form=t.form, lemma="_", upos=upos, xpos=t.xpos, feats=feats, deprel=t.deprel, space_after=True)
            )
        return out


def ud_docs_by_document(vocab: Vocab, sentences: Iterable[tuple[bool, Sentence]]) -> list[Doc]:
    """Group sentences by the treebank's ``# newdoc`` markers (at most 10 sentences a document)."""
    docs: list[Doc] = []
    current: list[Sentence] = []
    for new_doc, sentence in sentences:
        if current and (new_doc or len(current) >= SENTENCES_PER_DOC):
            docs.append(_join(vocab, current))
            current = []
        current.append(sentence)
    if current:
        docs.append(_join(vocab, current))
    return docs


# --------------------------------------------------------------------------------------------------
# Lemma table


_WORD = re.compile(r"\w+(?:[-:'.]\w+)*")
# Modern Swedish running text used to decide which table entries are worth shipping (see the docstring).
_REFERENCE_TEXTS = (
    ("corpus_riksdagen_docs_2018_2021", "riksdagen_mot_bet_prop_2018-2021.jsonl.xz"),
    ("corpus_regeringen_g0vse", "regeringen_se_pages.jsonl.xz"),
    ("corpus_almedalen_events", "almedalen_event_descriptions_2009-2023.jsonl.xz"),
    ("absabank_imm", "absabank-imm_train.jsonl"),
)


def reference_words(data: Path, sentences: Iterable[Sentence]) -> Counter[str]:
    """Case-sensitive word counts over the training sentences and the modern reference texts."""
    counts: Counter[str] = Counter()
    for sentence in sentences:
        counts.update(sentence.words)
    for folder, name in _REFERENCE_TEXTS:
        path = data / folder / name
        if not path.exists():
            continue
        with lzma.open(path, "rt", encoding="utf-8") if path.suffix == ".xz" else path.open(encoding="utf-8") as lines:
            for line in lines:
                counts.update(_WORD.findall(json.loads(line)["text"]))
    return counts


def build_lemma_table(
    source: Path, words: Counter[str], *, attested_only: bool = True
) -> tuple[dict[str, str], dict[str, int]]:
    """The shipped form -> lemma table (see "Lemma table" in the module docstring)."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        raw: dict[str, str] = json.load(handle)
    lower_seen = {w.lower() for w in words}
    table = {
        form: lemma
        for form, lemma in raw.items()
        if form != lemma and not re.search(r"\s", form) and (not attested_only or form.lower() in lower_seen)
    }
    added = 0
    for form, lemma in list(table.items()):
        capitalised = form[:1].upper() + form[1:]
        if form[:1].islower() and capitalised in words and capitalised not in table:
            table[capitalised] = lemma
            added += 1
    return table, {"source_entries": len(raw), "kept": len(table) - added, "capitalised_added": added}


def load_lemma_lookups(path: str) -> Lookups:
    """The lookup table for ``[initialize.components.lemmatizer.lookups]`` (the built JSON file)."""
    with Path(path).open(encoding="utf-8") as handle:
        table: dict[str, str] = json.load(handle)
    lookups = Lookups()
    lookups.add_table("lemma_lookup", table)
    return lookups


registry.misc.register("vaktpost.sv_lemma_lookups.v1", func=load_lemma_lookups)


# --------------------------------------------------------------------------------------------------


def prepare(
    build_dir: Path = DEFAULT_BUILD_DIR,
    *,
    data: Path | None = None,
    suc: bool = False,
    misc: MiscMode = "missing",
    ud_legacy: bool = True,
    lemma_table: Literal["attested", "full"] = "attested",
) -> dict[str, object]:
    """Write the DocBins and the lemma table under ``build_dir``; returns the manifest."""
    data = data or shared_data_dir()
    if not (data / "PROVENANCE.md").exists():
        raise FileNotFoundError(f"shared data not found at {data}; set VAKTPOST_SHARED_DATA")
    vocab = spacy.blank("sv").vocab
    counts: dict[str, object] = {}
    for sub in ("train", "dev", "test"):
        for old in (build_dir / sub).glob("*.spacy") if (build_dir / sub).exists() else []:
            old.unlink()

    # NER: klintan
    klintan = data / "swedish_ner_corpus_klintan"
    test = read_klintan(klintan / "test_corpus.txt", "o")
    test_keys = {tuple(s.words) for s in test}
    train_all = read_klintan(klintan / "train_corpus.txt", misc)
    train_sents = [s for s in train_all if tuple(s.words) not in test_keys]
    counts["klintan_train_dropped_as_in_test"] = len(train_all) - len(train_sents)
    groups = [train_sents[i : i + SENTENCES_PER_DOC] for i in range(0, len(train_sents), SENTENCES_PER_DOC)]
    rng = random.Random(SEED)  # noqa: S311 - a reproducible data split, not cryptography
    dev_flags = [rng.random() < DEV_FRACTION for _ in groups]
    ner_train = [_join(vocab, g) for g, is_dev in zip(groups, dev_flags, strict=True) if not is_dev]
    ner_dev = [_join(vocab, g) for g, is_dev in zip(groups, dev_flags, strict=True) if is_dev]
    counts["ner_klintan_train_docs"] = _write(ner_train, build_dir / "train" / "ner_klintan.spacy")
    counts["ner_klintan_dev_docs"] = _write(ner_dev, build_dir / "dev" / "ner_klintan.spacy")
    counts["ner_klintan_test_docs"] = _write(sentences_to_docs(vocab, test), build_dir / "test" / "ner_klintan.spacy")
    counts["ner_klintan_sentences"] = {"train+dev": len(train_sents), "test": len(test)}

    # NER: SUC 3.0
    suc_sentences: list[Sentence] = []
    if suc:
        suc_dir = data / "sucx3_ner_kblab"
        manual = read_suc_manual(suc_dir / "suc3_manual_vs_auto_ner_2900sent.txt.gz")
        manual_keys = {key for key, _ in manual}
        auto = [
            s for key, s in read_suc_auto(suc_dir / "suc3_ner_auto_tags_11628sent.jsonl.gz") if key not in manual_keys
        ]
        suc_sentences = auto + [s for _, s in manual]
        counts["ner_suc_sentences"] = {"auto_silver": len(auto), "manual": len(manual)}
        counts["ner_suc_train_docs"] = _write(
            sentences_to_docs(vocab, suc_sentences), build_dir / "train" / "ner_suc.spacy"
        )

    # UD: Talbanken v2 test (+ legacy v1 train converted) for training, v2 dev, PUD for testing
    talbanken = data / "ud_swedish_talbanken"
    v2_train = list(read_conllu(talbanken / "sv_talbanken-ud-test.conllu"))
    ud_train: list[tuple[bool, Sentence]] = [(new, ud_sentence(toks)) for new, toks in v2_train]
    counts["ud_v2_train_sentences"] = len(ud_train)
    if ud_legacy:
        converter = UdV1Converter(toks for _, toks in v2_train)
        legacy = [
            (i % SENTENCES_PER_DOC == 0, ud_sentence(converter.convert(toks), has_spacing=False, has_lemmas=False))
            for i, (_, toks) in enumerate(read_conllu(talbanken / "LEGACY_ud1.0_sv-ud-train.conll.gz"))
        ]
        counts["ud_v1_train_sentences"] = len(legacy)
        counts["ud_v1_conversion"] = dict(converter.stats)
        # Documents must not mix sentences with and without lemmas.
        ud_train_docs = ud_docs_by_document(vocab, ud_train) + ud_docs_by_document(vocab, legacy)
    else:
        ud_train_docs = ud_docs_by_document(vocab, ud_train)
    counts["ud_train_docs"] = _write(ud_train_docs, build_dir / "train" / "ud_talbanken.spacy")
    dev_ud = [(new, ud_sentence(toks)) for new, toks in read_conllu(talbanken / "sv_talbanken-ud-dev.conllu")]
    counts["ud_dev_docs"] = _write(ud_docs_by_document(vocab, dev_ud), build_dir / "dev" / "ud_talbanken.spacy")
    pud = [(new, ud_sentence(toks)) for new, toks in read_conllu(data / "ud_swedish_pud" / "sv_pud-ud-test.conllu")]
    counts["ud_pud_test_docs"] = _write(ud_docs_by_document(vocab, pud), build_dir / "test" / "ud_pud.spacy")

    # Lemma table
    references = [s for _, s in ud_train] + train_sents + suc_sentences
    table, table_counts = build_lemma_table(
        data / "spacy_lookups_sv" / "sv_lemma_lookup.json.gz",
        reference_words(data, references),
        attested_only=lemma_table == "attested",
    )
    lookup_path = build_dir / "sv_lemma_lookup.json"
    lookup_path.write_text(json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    counts["lemma_table"] = table_counts

    manifest: dict[str, object] = {
        "shared_data": str(data),
        "options": {
            "suc": suc,
            "misc": misc,
            "ud_legacy": ud_legacy,
            "lemma_table": lemma_table,
            "seed": SEED,
            "dev_fraction": DEV_FRACTION,
        },
        "counts": counts,
    }
    (build_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help="output directory")
    parser.add_argument(
        "--suc", action=argparse.BooleanOptionalAction, default=False, help="add SUC 3.0 NER data (off: see MODEL_CARD)"
    )
    parser.add_argument("--misc", choices=["missing", "o", "label"], default="missing", help="klintan MISC handling")
    parser.add_argument(
        "--ud-legacy", action=argparse.BooleanOptionalAction, default=True, help="add the converted UD v1 train file"
    )
    parser.add_argument(
        "--lemma-table", choices=["attested", "full"], default="attested", help="ship attested forms only, or all"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_arguments(parser)
    args = parser.parse_args(argv)
    manifest = prepare(
        args.build_dir, suc=args.suc, misc=args.misc, ud_legacy=args.ud_legacy, lemma_table=args.lemma_table
    )
    print(json.dumps(manifest, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
