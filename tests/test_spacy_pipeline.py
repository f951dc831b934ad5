"""The committed Swedish spaCy pipeline (models/spacy/sv_vaktpost): loads fast, tokenises, tags, finds names."""

from __future__ import annotations

import json

import pytest
from spacy.language import Language

from models.spacy import PIPELINE_DIR, load_swedish_pipeline

SENTENCE = "Socialsekreteraren Annika Lövgren bor på Björkvägen 14B i Skogsby."


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_swedish_pipeline()


def test_the_committed_pipeline_has_the_expected_components(nlp: Language) -> None:
    assert nlp.lang == "sv"
    assert nlp.pipe_names == ["tok2vec", "senter", "morphologizer", "ner", "lemmatizer"]
    assert set(nlp.get_pipe("ner").labels) >= {"PER", "LOC", "ORG"}  # type: ignore[attr-defined]


def test_meta_records_licence_and_scores() -> None:
    meta = json.loads((PIPELINE_DIR / "meta.json").read_text(encoding="utf-8"))
    assert sum(f.stat().st_size for f in PIPELINE_DIR.rglob("*") if f.is_file()) <= 30 * 1024 * 1024
    assert meta["name"] == "vaktpost"
    assert meta["license"] == "CC BY-SA 4.0"
    assert meta["performance"]["ner_klintan_test"]["ents_f"] > 0.75


def test_tokenises_swedish(nlp: Language) -> None:
    doc = nlp(SENTENCE)
    assert [t.text for t in doc] == [
        "Socialsekreteraren",
        "Annika",
        "Lövgren",
        "bor",
        "på",
        "Björkvägen",
        "14B",
        "i",
        "Skogsby",
        ".",
    ]
    assert [t.text for t in nlp("Ring soc. t.ex. på 08-123 45 67, annars mejla!")][:5] == [
        "Ring",
        "soc",
        ".",
        "t.ex.",
        "på",
    ]


def test_finds_the_person_and_a_place(nlp: Language) -> None:
    ents = {(e.text, e.label_) for e in nlp("Socialsekreteraren Annika Lövgren flyttade till Göteborg i fjol.").ents}
    assert ("Annika Lövgren", "PER") in ents
    assert ("Göteborg", "LOC") in ents


def test_finds_names_in_a_post(nlp: Language) -> None:
    doc = nlp("Jag såg Maria Andersson från socialtjänsten i Malmö igår. Hon jobbar på Malmö stad.")
    found = {(e.text, e.label_) for e in doc.ents}
    assert ("Maria Andersson", "PER") in found
    assert any(text.startswith("Malmö") for text, _ in found)


def test_lemmas_come_from_the_lookup_table(nlp: Language) -> None:
    doc = nlp("Barnen bor hos sin mamma och barnen hotades av grannarna.")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["barnen"] == "barn"
    assert lemmas["Barnen"] == "barn"  # capitalised variant for sentence-initial words
    assert lemmas["bor"] == "bo"
    assert lemmas["grannarna"] == "granne"
    assert lemmas["hotades"] == "hota"


def test_tags_parts_of_speech(nlp: Language) -> None:
    doc = nlp("Hon bor i en liten stad.")
    assert [t.pos_ for t in doc] == ["PRON", "VERB", "ADP", "DET", "ADJ", "NOUN", "PUNCT"]
    assert "Number=Sing" in str(doc[5].morph)


def test_splits_sentences(nlp: Language) -> None:
    doc = nlp("Vi vet var du bor. Vi kommer att hitta dig! Hur länge tror du att du kan gömma dig?")
    assert [s.text for s in doc.sents] == [
        "Vi vet var du bor.",
        "Vi kommer att hitta dig!",
        "Hur länge tror du att du kan gömma dig?",
    ]


def test_pipe_matches_single_calls(nlp: Language) -> None:
    texts = ["Annika Lövgren bor i Skogsby.", "", "Kontakta Socialstyrelsen i Stockholm."]
    piped = [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]
    single = [[(e.text, e.label_) for e in nlp(t).ents] for t in texts]
    assert piped == single
