"""The lexicon baseline and the analyser that combines it with personal-data detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models import load_analyzer
from models.baseline import BaselineAnalyzer
from models.lexicon import Lexicon, LexiconError
from models.text import fold
from vaktpost.schema import LABELS, Post
from vaktpost.settings import Settings

CASES = Path(__file__).parent / "data" / "lexicon_cases.jsonl"


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> BaselineAnalyzer:
    loaded = load_analyzer(Settings(data_dir=tmp_path_factory.mktemp("var")), analyzer="baseline")
    assert isinstance(loaded, BaselineAnalyzer)
    return loaded


def test_the_settings_choose_the_analyser(tmp_path: Path) -> None:
    from models.classifier.analyzer import TransformerAnalyzer

    assert isinstance(load_analyzer(Settings(data_dir=tmp_path)), TransformerAnalyzer)
    baseline = Settings.model_validate({"data_dir": tmp_path, "analysis": {"analyzer": "baseline"}})
    assert isinstance(load_analyzer(baseline), BaselineAnalyzer)


def post(text: str, number: int = 1) -> Post:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    return Post(
        id=f"test:{number}",
        source="test",
        url="https://x.example",
        text=text,
        created_at=now,
        collected_at=now,
    )


def test_fold_keeps_offsets() -> None:
    text = "SOCIALTJÄNSTEN på Österlen é"
    assert fold(text) == "socialtjansten pa osterlen e"
    assert len(fold(text)) == len(text)


def test_lexicon_regression_cases() -> None:
    """Hand-written sentences (half of them hard negatives); the baseline must keep getting them right."""
    lexicon = Lexicon()
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 150
    wrong = []
    for case in cases:
        scores = lexicon.score(case["text"]).scores
        flagged = sorted(label for label in LABELS if scores[label] >= 0.5)
        if flagged != sorted(case["labels"]):
            wrong.append((case["text"], flagged, case["labels"]))
    assert len(wrong) / len(cases) <= 0.1, wrong[:10]


def test_explanations_point_at_the_words(analyzer: BaselineAnalyzer) -> None:
    text = "Soc är barnrövare som kidnappar våra barn för pengar"
    verdict = analyzer.analyze([post(text)])[0]
    assert verdict.flags, verdict.scores
    for label in verdict.flags:
        assert verdict.explanations[label]
        for span in verdict.explanations[label]:
            if not span.text.startswith("["):
                assert text[span.start : span.end] == span.text


def test_missing_diacritics_are_matched_too(analyzer: BaselineAnalyzer) -> None:
    with_marks, without = analyzer.analyze(
        [post("Socialtjänsten kidnappar våra barn!"), post("socialtjansten kidnappar vara barn!", 2)]
    )
    assert with_marks.scores["disinformation"] == without.scores["disinformation"] >= 0.5


def test_doxxing_of_staff_versus_an_ad_with_a_phone_number(analyzer: BaselineAnalyzer) -> None:
    doxx, ad, office = analyzer.analyze(
        [
            post("Socialsekreteraren Annika bor på Björkvägen 14B, ring henne på 070-174 06 12", 1),
            post("Säljes: cykel i fint skick, 800 kr. Ring 070-174 06 33", 2),
            post("Socialtjänsten i Skogsby nås via växeln 08-465 004 00, besöksadress Storgatan 1", 3),
        ]
    )
    assert "doxxing" in doxx.flags
    assert {span.type for span in doxx.pii} == {"person_name", "street_address", "phone"}
    [exposure] = doxx.exposures
    assert exposure.severity == "high" and exposure.exposed == ["phone", "street_address"]
    assert ad.exposures == [] and office.exposures == []
    assert "doxxing" not in ad.flags
    assert "doxxing" not in office.flags


def test_news_about_a_threat_is_not_a_threat(analyzer: BaselineAnalyzer) -> None:
    threat, news = analyzer.analyze(
        [
            post("Vi vet var du bor, soctant. Vänta bara tills du går till bilen ikväll.", 1),
            post("Polisen utreder hot mot en socialsekreterare i Borås, rapporterar lokaltidningen.", 2),
        ]
    )
    assert "threat" in threat.flags
    assert "threat" not in news.flags


def test_verdict_records_versions_and_all_scores(analyzer: BaselineAnalyzer) -> None:
    verdict = analyzer.analyze([post("Hej, hur söker man försörjningsstöd?")])[0]
    assert set(verdict.scores) == set(LABELS)
    assert verdict.flags == []
    assert set(verdict.model) == {"pii", "lexicon"}


def test_a_broken_lexicon_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "1"\n[[label.threat]]\npattern = "(unclosed"\nweight = 0.5\n', encoding="utf-8")
    with pytest.raises(LexiconError, match=r"label\.threat.*unclosed"):
        Lexicon(bad)
    bad.write_text('[[label.rudeness]]\npattern = "x"\nweight = 0.5\n', encoding="utf-8")
    with pytest.raises(LexiconError, match="unknown labels"):
        Lexicon(bad)
    bad.write_text('[[label.threat]]\npattern = "Vi Vet"\nweight = 0.5\n', encoding="utf-8")
    with pytest.raises(LexiconError, match="capitals"):
        Lexicon(bad)
    good = tmp_path / "good.toml"
    good.write_text('[[label.threat]]\npattern = "\\\\bvi vet\\\\b\\\\S*"\nweight = 0.5\n', encoding="utf-8")
    assert Lexicon(good).score("VI VET var du bor").scores["threat"] > 0
