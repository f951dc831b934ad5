"""Doxxing assessment, the protected-staff watch-list and redaction, on the real analyser."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.baseline import BaselineAnalyzer
from models.lexicon import Lexicon
from models.redaction import redact
from models.watchlist import ProtectedPerson, WatchList, WatchListError, new_key
from vaktpost.schema import LABELS, Post, Verdict

NOW = datetime(2026, 11, 20, tzinfo=UTC)
ANNIKA = ProtectedPerson(
    id="p-annika", name="Annika Lövgren", nicknames=["soc-Annika"], workplace="familjeenheten i Skogsby"
)


@pytest.fixture(scope="module")
def analyzer() -> BaselineAnalyzer:
    return BaselineAnalyzer(Lexicon(), dict.fromkeys(LABELS, 0.5), watchlist=WatchList([ANNIKA]))


def verdict(analyzer: BaselineAnalyzer, text: str) -> Verdict:
    post = Post(id="t:1", source="t", url="https://x.example", text=text, created_at=NOW, collected_at=NOW)
    return analyzer.analyze([post])[0]


@pytest.mark.parametrize(
    ("text", "severity", "exposed"),
    [
        ("Handläggaren heter Maria Sandén, hon jobbar på socialkontoret.", "low", []),
        ("Socialsekreteraren Maria Sandén har mobilnummer 070-174 06 47.", "medium", ["phone"]),
        (
            "Socialsekreteraren Maria Sandén bor på Tallstigen 7, 123 45 Skogsby.",
            "high",
            ["postal_code", "street_address"],
        ),
        (
            "Soc-tanten Maria Sandén bor på Tallstigen 7 och hennes ungar går på Solrosens förskola.",
            "critical",
            ["family", "school", "street_address"],
        ),
    ],
)
def test_severity_follows_what_is_exposed(
    analyzer: BaselineAnalyzer, text: str, severity: str, exposed: list[str]
) -> None:
    result = verdict(analyzer, text)
    [exposure] = result.exposures
    assert (exposure.severity, exposure.exposed, exposure.person) == (severity, exposed, "staff")
    assert exposure.name is not None and exposure.name.text == "Maria Sandén"
    if severity != "low":
        assert "doxxing" in result.flags


def test_asking_for_details_counts_as_doxxing(analyzer: BaselineAnalyzer) -> None:
    result = verdict(analyzer, "Någon som vet var socialsekreteraren som tog mina barn bor? Har någon hennes nummer?")
    assert "doxxing" in result.flags
    assert result.exposures and result.exposures[0].solicitation


def test_a_protected_person_is_linked_however_the_post_spells_them(analyzer: BaselineAnalyzer) -> None:
    for text in (
        "Annika Lövgrens adress är Björkvägen 14B, sprid!",
        "annika lovgren från soc bor på björkvägen 14b",
        "Anika Lövgren jobbar på familjeenheten i Skogsby",
        "soc-Annika kör en röd Volvo med regnummer ABC 123",
    ):
        result = verdict(analyzer, text)
        assert result.protected_staff == ["p-annika"], text
        assert "doxxing" in result.flags, text
    assert verdict(analyzer, "Lövgren är ett vanligt efternamn i Norrland").protected_staff == []


@pytest.mark.parametrize(
    "text",
    [
        "Säljes: cykel i fint skick, 800 kr. Ring Johan på 070-174 06 33",
        "Zlatan Ibrahimović gjorde två mål mot Danmark igår, vilken kväll på Friends Arena!",
        "Socialtjänsten nås via växeln 08-465 004 00, besöksadress Storgatan 1, e-post info@exempel-kommun.se",
        "Beställningsnummer 850312-4467 skickas till Storgatan 5, fakturan betalas inom 30 dagar",
        # family and routine words with nobody identifiable in them
        "Stort tack till alla socialsekreterare som gör ett viktigt jobb för barnen varje dag ❤️",
    ],
)
def test_ads_celebrities_offices_and_order_numbers_are_not_doxxing(analyzer: BaselineAnalyzer, text: str) -> None:
    result = verdict(analyzer, text)
    assert "doxxing" not in result.flags, result.scores
    assert result.exposures == []


def test_doxxing_explanations_never_repeat_the_exposed_values(analyzer: BaselineAnalyzer) -> None:
    result = verdict(analyzer, "Socialsekreteraren Maria Sandén bor på Tallstigen 7, ring 070-174 06 47")
    reasons = [e for e in result.explanations["doxxing"] if e.reason.endswith(("street address", "phone"))]
    assert reasons and all(e.text.startswith("[") for e in reasons)


def test_redaction_replaces_values_by_their_kind(analyzer: BaselineAnalyzer) -> None:
    text = "Maria Sandén, 850312-4466, bor på Tallstigen 7 och nås på 070-174 06 47"
    result = verdict(analyzer, text)
    assert redact(text, result.pii) == "[NAMN], [PERSONNUMMER], bor på [ADRESS] och nås på [TELEFON]"
    assert redact("inget här", []) == "inget här"


def test_the_watch_list_is_encrypted_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.enc"
    key = new_key()
    WatchList([ANNIKA]).save(path, key)
    raw = path.read_bytes()
    assert b"Annika" not in raw and "Lövgren".encode() not in raw and b"Skogsby" not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = WatchList.load(path, key)
    assert [p.name for p in loaded.people] == ["Annika Lövgren"]
    with pytest.raises(WatchListError, match="cannot be decrypted"):
        WatchList.load(path, new_key())
    with pytest.raises(WatchListError, match="VAKTPOST_WATCHLIST_KEY"):
        WatchList.load(path, None)
    assert "Annika" not in repr(loaded.people[0]) and "Annika" not in str(loaded.people[0])
    assert loaded.remove(ANNIKA.id) and not loaded.people


def test_without_a_watch_list_file_there_is_nothing_to_match(tmp_path: Path) -> None:
    assert WatchList.load(tmp_path / "missing.enc", None).match("Annika Lövgren") == []


def test_watchlist_commands(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("VAKTPOST_")}
    env["VAKTPOST_DATA_DIR"] = str(tmp_path / "var")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vaktpost.cli", "watchlist", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert cli("add", "Maria Sandén").returncode == 2  # no key yet: refused, nothing written
    env["VAKTPOST_WATCHLIST_KEY"] = cli("keygen").stdout.strip()
    added = cli("add", "Maria Sandén", "--nickname", "soc-Maria", "--workplace", "socialkontoret i Skogsby")
    assert added.returncode == 0, added.stderr
    person_id = added.stdout.strip()
    assert "Maria Sandén" in cli("list").stdout
    stored = (tmp_path / "var" / "secrets" / "watchlist.enc").read_bytes()
    assert b"Maria" not in stored
    assert cli("remove", person_id).returncode == 0
    assert "Maria" not in cli("list").stdout
