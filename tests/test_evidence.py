"""Evidence packages for the police: built from a real WARC file and a real SQLite store, checked by recomputing
every digest (in Python, with the CLI and with ``sha256sum -c``), then tampered with file by file.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator

from crawlers.evidence import CapturedResponse, WarcEvidenceWriter
from evidence import PACKAGE_FILES, EvidenceError, Status, build_package, verify_package
from index import ReviewUpdate
from index.sqlite import SQLiteStore
from review.accounts import Accounts
from review.app import create_app
from tests.factories import BASE, analysed
from tests.review_harness import settings_for
from vaktpost import __version__
from vaktpost.schema import AnalysedPost, Evidence, Exposure, PiiSpan, Severity

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "ett-langt-losenord-1"
POST_ID = "flashback:7"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ADDRESS = "Storgatan 12"
TEXT = f"Handläggaren bor på {ADDRESS}. Åk dit. {SCRIPT}"
QUOTE = f"citat {IMG}"
REASON = "Polisanmälan, ärende 5000-K123456-26"
EXPORT_AT = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # summer: Stockholm is UTC+2
FETCHED_AT = BASE + timedelta(days=1)  # 2026-11-21 12:00 UTC, winter: Stockholm is UTC+1
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Captured:
    data_dir: Path
    store: SQLiteStore
    evidence: Evidence

    def build(self, out_dir: Path, post_id: str = POST_ID, *, exported_by: str = "sam", reason: str = REASON) -> Path:
        return build_package(
            self.store,
            self.data_dir,
            post_id,
            exported_by=exported_by,
            reason=reason,
            out_dir=out_dir,
            host="vakt-01",
            now=EXPORT_AT,
        )


def hostile_post(evidence: Evidence | None, number: int = 7) -> AnalysedPost:
    start = TEXT.index(ADDRESS)
    span = PiiSpan(type="street_address", text=ADDRESS, start=start, end=start + len(ADDRESS))
    item = analysed(number, TEXT, flags=("doxxing", "threat"), score=0.93, pii=(span,), author_name=IMG)
    exposure = Exposure(
        person="watchlist:p1a2b3",
        exposed=["street_address"],
        spans=[span],
        solicitation=True,
        severity=Severity.critical,
        score=0.93,
    )
    verdict = item.verdict.model_copy(
        update={"exposures": [exposure], "model": {"classifier": "sv-harm-2026.11", "pii": "sv-pii-3"}}
    )
    post = item.post.model_copy(update={"evidence": evidence, "title": f'"><b>{SCRIPT}', "quoted_text": QUOTE})
    return AnalysedPost(post=post, verdict=verdict)


@pytest.fixture
def captured(data_dir: Path) -> Iterator[Captured]:
    data_dir.mkdir(parents=True)
    writer = WarcEvidenceWriter(data_dir, Path("warc/2026-11-21.warc.gz"))
    found = [
        writer.write(
            CapturedResponse(
                url=f"https://flashback.example/p{n}",
                status=200,
                reason="OK",
                headers=[("Content-Type", "text/html; charset=utf-8")],
                body=f"<html><body>Inlägg {n}: {TEXT}</body></html>".encode(),
                fetched_at=FETCHED_AT,
            )
        )
        for n in (6, 7, 8)
    ]
    writer.close()
    store = SQLiteStore(data_dir / "vaktpost.db")
    store.upsert([hostile_post(found[1]), hostile_post(None, 9)])
    store.audit("rita", "view", POST_ID)
    store.review(POST_ID, "sam", ReviewUpdate(status="escalated", note="Polisanmäls i dag."))
    yield Captured(data_dir, store, found[1])
    store.close()


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(source: Path, target: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """A copy of a package with its files changed, written as a new, well-formed ZIP."""
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in change(members(source)).items():
            archive.writestr(name, data)
    return target


def flip(data: bytes, position: int | None = None) -> bytes:
    at = len(data) // 2 if position is None else position
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def flipped(name: str, position: int | None = None) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    """A change for ``rewrite``: one bit of one byte of one file flipped (the middle byte by default)."""
    return lambda files: files | {name: flip(files[name], position)}


# -- what a package holds -------------------------------------------------------------------------------------


def test_a_package_holds_the_original_byte_for_byte_and_checks_out(captured: Captured, tmp_path: Path) -> None:
    path = captured.build(tmp_path / "out")
    assert path.name == "vaktpost-bevis-flashback_7-20260701T100000Z.zip"
    files = members(path)
    assert list(files) == list(PACKAGE_FILES)

    warc = (captured.data_dir / captured.evidence.warc_file).read_bytes()
    original = files["original.warc.gz"]
    offset = captured.evidence.offset
    assert offset > 0 and warc[offset : offset + len(original)] == original, "not the captured bytes"
    assert warc[offset + len(original) : offset + len(original) + 2] == b"\x1f\x8b", "not one whole member"
    records = [
        (r.rec_type, r.rec_headers.get_header("WARC-Record-ID"), hashlib.sha256(r.content_stream().read()).hexdigest())
        for r in ArchiveIterator(io.BytesIO(original))
    ]
    assert records == [("response", captured.evidence.record_id, captured.evidence.sha256)]

    lines = files["SHA256SUMS"].decode("ascii").splitlines()
    sums = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert sums == {name: hashlib.sha256(data).hexdigest() for name, data in files.items() if name != "SHA256SUMS"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["files"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in files.items()
        if name not in ("manifest.json", "SHA256SUMS")
    }

    report = verify_package(path)
    assert report.intact, report
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK)
    assert report.payload.ok and report.payload.actual_sha256 == captured.evidence.sha256
    assert report.post_id == POST_ID

    if shutil.which("sha256sum"):  # by hand, as docs/evidence.md says
        unpacked = tmp_path / "unpacked"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(unpacked)
        checked = subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count(": OK") == len(PACKAGE_FILES) - 1


def test_the_manifest_states_the_facts_in_utc_and_stockholm_time(captured: Captured, tmp_path: Path) -> None:
    manifest = json.loads(members(captured.build(tmp_path))["manifest.json"])
    evidence = captured.evidence
    assert manifest["post"]["id"] == POST_ID and manifest["post"]["source"] == "flashback"
    assert manifest["post"]["url"] == "https://flashback.example/p7"
    assert manifest["capture"]["fetched_at"] == {
        "utc": "2026-11-21T12:00:00+00:00",
        "stockholm": "2026-11-21T13:00:00+01:00",
    }
    assert manifest["export"]["at"] == {"utc": "2026-07-01T10:00:00+00:00", "stockholm": "2026-07-01T12:00:00+02:00"}
    assert manifest["capture"]["record_id"] == evidence.record_id
    assert manifest["capture"]["payload_sha256"] == evidence.sha256
    assert manifest["capture"]["payload_sha256_at_export"] == evidence.sha256
    assert manifest["capture"]["payload_sha256_matches"] is True
    assert manifest["collector"] == {"name": "vaktpost", "version": __version__}
    assert manifest["analysis"]["models"] == {"classifier": "sv-harm-2026.11", "pii": "sv-pii-3"}
    assert manifest["analysis"]["flags"] == ["doxxing", "threat"]
    assert manifest["analysis"]["scores"]["threat"] == 0.93
    assert manifest["analysis"]["exposures"][0]["exposed"] == ["street_address"]
    assert manifest["export"]["by"] == "sam"


def test_the_text_and_the_chain_of_custody(captured: Captured, tmp_path: Path) -> None:
    files = members(captured.build(tmp_path))
    text = files["text.txt"].decode("utf-8")
    for part in (TEXT, QUOTE, IMG, "a00000000000000000007", "https://flashback.example/p7", "2026-11-20 20:00:00 CET"):
        assert part in text, part

    custody = json.loads(files["chain-of-custody.json"])
    assert custody["export"] == {
        "by": "sam",
        "at": {"utc": "2026-07-01T10:00:00+00:00", "stockholm": "2026-07-01T12:00:00+02:00"},
        "reason": REASON,
        "host": "vakt-01",
        "tool": f"Vaktpost {__version__}",
        "package": "vaktpost-bevis-flashback_7-20260701T100000Z.zip",
    }
    assert custody["capture"]["software"].startswith("Vaktpost/")
    assert [(e["actor"], e["action"]) for e in custody["audit_trail"]] == [("rita", "view"), ("sam", "review")]
    assert [(n["author"], n["text"]) for n in custody["notes"]] == [("sam", "Polisanmäls i dag.")]
    assert custody["review"]["status"] == "escalated" and custody["review"]["reviewed_by"] == "sam"
    readable = files["chain-of-custody.txt"].decode("utf-8")
    for part in ("Exporterat av: sam", f"Skäl: {REASON}", "Dator: vakt-01", "rita: visade inlägget", "Polisanmäls"):
        assert part in readable, part


def test_the_summary_is_swedish_printable_and_escapes_what_strangers_wrote(captured: Captured, tmp_path: Path) -> None:
    page = members(captured.build(tmp_path))["sammanfattning.html"].decode("utf-8")
    assert "Underlag för polisanmälan" in page
    for part in ("Doxning, Hot", "Kritisk", "Adress", "uppmanar andra", REASON, "sam"):
        assert part in page, part
    assert "2026-11-21 13:00:00 CET" in page, "capture time in Swedish time"
    assert captured.evidence.sha256 in page and html.escape(captured.evidence.record_id) in page
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<b>" not in page
    assert html.escape(SCRIPT) in page and html.escape(IMG, quote=False) in page
    assert "&#34;&gt;&lt;b&gt;" in page, "the hostile title is text"


def test_the_export_is_audited_with_the_zips_digest_and_no_personal_data(captured: Captured, tmp_path: Path) -> None:
    path = captured.build(tmp_path)
    entries = [e for e in captured.store.audit_log(post_id=POST_ID) if e.action == "evidence_export"]
    assert [(e.actor, e.post_id) for e in entries] == [("sam", POST_ID)]
    detail = json.loads(entries[0].detail)
    assert detail == {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size,
                      "payload_verified": True}  # fmt: skip
    assert "Polisanmälan" not in entries[0].detail and ADDRESS not in entries[0].detail
    again = captured.build(tmp_path)
    assert again != path and again.name.endswith("-2.zip"), "a second export the same second gets its own name"


def test_a_package_records_when_the_archive_no_longer_matches(captured: Captured, tmp_path: Path) -> None:
    """A post whose recorded digest the archived body does not have: the package says so, and never checks out."""
    altered = captured.evidence.model_copy(update={"sha256": "0" * 64})
    captured.store.upsert([hostile_post(altered, 10)])
    path = captured.build(tmp_path, "flashback:10")
    manifest = json.loads(members(path)["manifest.json"])
    assert manifest["capture"]["payload_sha256_matches"] is False
    assert manifest["capture"]["payload_sha256_at_export"] == captured.evidence.sha256
    assert "NEJ" in members(path)["sammanfattning.html"].decode("utf-8")
    report = verify_package(path)
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK)
    assert not report.intact and not report.payload.ok and "already did" in report.payload.note


# -- tampering ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PACKAGE_FILES)
def test_one_flipped_byte_in_any_file_is_reported(captured: Captured, tmp_path: Path, name: str) -> None:
    path = captured.build(tmp_path / "out")
    tampered = rewrite(path, tmp_path / "tampered.zip", flipped(name))
    report = verify_package(tampered)
    assert not report.intact
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK) | {name: Status.CHANGED}, report.files
    if name == "original.warc.gz":
        assert not report.payload.ok
    elif name != "manifest.json":
        assert report.payload.ok


def test_a_flipped_byte_in_a_digest_of_the_sums_file_blames_the_sums_file(captured: Captured, tmp_path: Path) -> None:
    path = captured.build(tmp_path / "out")
    tampered = rewrite(path, tmp_path / "t.zip", flipped("SHA256SUMS", 0))
    assert verify_package(tampered).statuses == dict.fromkeys(PACKAGE_FILES, Status.OK) | {"SHA256SUMS": Status.CHANGED}


@pytest.mark.parametrize(
    ("removed", "also"),
    [
        ("text.txt", {}),
        ("original.warc.gz", {}),
        ("manifest.json", {}),
        ("SHA256SUMS", {"manifest.json": Status.UNCHECKED}),
    ],
)
def test_a_removed_file_is_missing(captured: Captured, tmp_path: Path, removed: str, also: dict[str, Status]) -> None:
    path = captured.build(tmp_path / "out")
    tampered = rewrite(path, tmp_path / "t.zip", lambda files: {k: v for k, v in files.items() if k != removed})
    report = verify_package(tampered)
    assert not report.intact
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK) | {removed: Status.MISSING} | also


def test_an_added_file_is_unexpected(captured: Captured, tmp_path: Path) -> None:
    path = captured.build(tmp_path / "out")
    tampered = rewrite(path, tmp_path / "t.zip", lambda files: files | {"extra/bild.png": b"\x89PNG"})
    report = verify_package(tampered)
    assert not report.intact
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK) | {"extra/bild.png": Status.UNEXPECTED}


def test_a_consistent_forgery_of_the_original_still_fails_the_payload_check(captured: Captured, tmp_path: Path) -> None:
    """Another WARC record with every file digest updated: only the digest recorded at capture catches it."""
    path = captured.build(tmp_path / "out")
    buffer = io.BytesIO()
    forged_writer = WarcEvidenceWriter(tmp_path / "forge", Path("f.warc.gz"))
    forged = forged_writer.write(
        CapturedResponse("https://flashback.example/p7", 200, "OK", [], b"harmless", FETCHED_AT)
    )
    forged_writer.close()
    warc = (tmp_path / "forge" / "f.warc.gz").read_bytes()
    buffer.write(warc[forged.offset :])

    def forge(files: dict[str, bytes]) -> dict[str, bytes]:
        files["original.warc.gz"] = buffer.getvalue()
        manifest = json.loads(files["manifest.json"])
        manifest["capture"]["record_id"] = forged.record_id
        manifest["files"]["original.warc.gz"] = {
            "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
            "size": len(buffer.getvalue()),
        }
        files["manifest.json"] = json.dumps(manifest).encode()
        files["SHA256SUMS"] = "".join(
            f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items() if name != "SHA256SUMS"
        ).encode()
        return files

    report = verify_package(rewrite(path, tmp_path / "t.zip", forge))
    assert report.statuses == dict.fromkeys(PACKAGE_FILES, Status.OK)
    assert not report.payload.ok and report.payload.actual_sha256 == hashlib.sha256(b"harmless").hexdigest()
    assert not report.intact


def test_what_is_not_a_zip_is_unreadable(tmp_path: Path) -> None:
    for path, data in ((tmp_path / "a.zip", b"not a zip"), (tmp_path / "b.zip", None)):
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(EvidenceError) as error:
            verify_package(path)
        assert error.value.code == "unreadable"


# -- errors ---------------------------------------------------------------------------------------------------


def test_clear_errors_when_a_package_cannot_be_built(captured: Captured, tmp_path: Path) -> None:
    def code(post_id: str, *, exported_by: str = "sam", reason: str = REASON) -> str:
        with pytest.raises(EvidenceError) as error:
            captured.build(tmp_path / "out", post_id, exported_by=exported_by, reason=reason)
        return error.value.code

    assert code("flashback:404") == "unknown_post"
    assert code("flashback:9") == "no_evidence"
    assert code(POST_ID, reason="  ") == "bad_request"
    assert code(POST_ID, exported_by="") == "bad_request"
    moved = captured.evidence.model_copy(update={"offset": captured.evidence.offset + 1})
    other = captured.evidence.model_copy(update={"offset": 0})  # the warcinfo record, not the response
    elsewhere = captured.evidence.model_copy(update={"warc_file": "../../etc/passwd"})
    captured.store.upsert([hostile_post(moved, 11), hostile_post(other, 12), hostile_post(elsewhere, 13)])
    assert code("flashback:11") == "warc_unreadable"
    assert code("flashback:12") == "warc_unreadable"
    assert code("flashback:13") == "warc_missing", "only files in the data dir"
    (captured.data_dir / captured.evidence.warc_file).unlink()
    assert code(POST_ID) == "warc_missing"
    assert not list(tmp_path.glob("out/*.zip")), "nothing written when a package cannot be built"
    assert not [e for e in captured.store.audit_log(post_id=POST_ID) if e.action == "evidence_export"]


# -- the command line -----------------------------------------------------------------------------------------


def test_the_cli_exports_and_verifies(captured: Captured, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAKTPOST_")}
    env["VAKTPOST_DATA_DIR"] = str(captured.data_dir)
    # the checkout first: an editable install made before a package was added does not map it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vaktpost.cli", "evidence", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    exported = cli("export", POST_ID, "--out", str(tmp_path / "out"), "--reason", REASON, "--by", "kim")
    assert exported.returncode == 0, exported.stderr
    path = Path(exported.stdout.strip())
    assert path.parent == tmp_path / "out" and path.is_file()
    assert json.loads(members(path)["chain-of-custody.json"])["export"]["by"] == "kim"
    short = cli(POST_ID, "--out", str(tmp_path / "short"), "--reason", REASON)
    assert short.returncode == 0, short.stderr
    by = json.loads(members(Path(short.stdout.strip()))["chain-of-custody.json"])["export"]["by"]
    assert by and by != "kim", "the OS user by default"

    verified = cli("verify", str(path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout and "NOT" not in verified.stdout
    tampered = rewrite(path, tmp_path / "t.zip", flipped("text.txt"))
    failed = cli("verify", str(tampered))
    assert failed.returncode == 1 and "CHANGED" in failed.stdout and "NOT intact" in failed.stdout
    (tmp_path / "junk.zip").write_bytes(b"junk")
    assert cli("verify", str(tmp_path / "junk.zip")).returncode == 2
    missing = cli("export", "flashback:404", "--out", str(tmp_path / "out"), "--reason", REASON)
    assert missing.returncode == 1 and "no post" in missing.stderr
    assert cli("export", POST_ID, "--out", str(tmp_path / "out"), "--reason", " ").returncode == 2


# -- the review app -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "accounts.db"
    accounts = Accounts(path)
    accounts.add_user("rita", "reviewer", PASSWORD)
    accounts.add_user("sam", "safety", PASSWORD)
    accounts.close()
    return path


def login(app: object, name: str) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    response = client.post("/logga-in", data={"name": name, "password": PASSWORD})
    assert response.status_code == 303, response.text[:300]
    found = CSRF.search(client.get("/konto").text)
    assert found is not None
    return client, found.group(1)


def test_safety_officers_download_a_package_from_the_post_view(
    captured: Captured, accounts_file: Path, tmp_path: Path
) -> None:
    shutil.copyfile(accounts_file, captured.data_dir / "accounts.db")
    accounts = Accounts(captured.data_dir / "accounts.db")
    app = create_app(settings_for(captured.data_dir), store=captured.store, accounts=accounts)
    url = f"/inlagg/{POST_ID}/bevispaket"
    try:
        rita, rita_csrf = login(app, "rita")
        assert "/bevispaket" not in rita.get(f"/inlagg/{POST_ID}").text
        assert rita.post(url, data={"csrf": rita_csrf, "reason": REASON}).status_code == 403

        sam, csrf = login(app, "sam")
        page = sam.get(f"/inlagg/{POST_ID}").text
        assert 'action="/inlagg/flashback%3A7/bevispaket"' in page
        assert sam.post(url, data={"reason": REASON}).status_code == 403, "no CSRF token"
        assert sam.post(url, data={"csrf": csrf, "reason": " "}).status_code == 400, "no reason"
        assert sam.post("/inlagg/flashback:9/bevispaket", data={"csrf": csrf, "reason": REASON}).status_code == 404
        exports = [e for e in captured.store.audit_log(post_id=POST_ID) if e.action == "evidence_export"]
        assert exports == []

        response = sam.post(url, data={"csrf": csrf, "reason": REASON})
        assert response.status_code == 200, response.text[:300]
        assert response.headers["content-type"] == "application/zip"
        assert re.fullmatch(
            r'attachment; filename="vaktpost-bevis-flashback_7-\d{8}T\d{6}Z\.zip"',
            response.headers["content-disposition"],
        )
        path = tmp_path / "download.zip"
        path.write_bytes(response.content)
        assert verify_package(path).intact
        custody = json.loads(members(path)["chain-of-custody.json"])
        assert custody["export"]["by"] == "sam" and custody["export"]["reason"] == REASON
        exports = [e for e in captured.store.audit_log(post_id=POST_ID) if e.action == "evidence_export"]
        assert [(e.actor, json.loads(e.detail)["sha256"]) for e in exports] == [
            ("sam", hashlib.sha256(response.content).hexdigest())
        ]
        assert "skapade bevispaket" in sam.get(f"/inlagg/{POST_ID}").text
    finally:
        accounts.close()


@pytest.mark.parametrize("name", ["SHA256SUMS", "manifest.json"])
def test_no_single_byte_change_in_the_digest_files_goes_unnoticed(
    captured: Captured, tmp_path: Path, name: str
) -> None:
    """Every position of the two files that hold the digests: never intact, and only they are blamed."""
    path = captured.build(tmp_path / "out")
    files = members(path)
    for position in range(len(files[name])):
        tampered = rewrite(path, tmp_path / "t.zip", flipped(name, position))
        report = verify_package(tampered)
        blamed = {file for file, status in report.statuses.items() if status is not Status.OK}
        assert not report.intact, position
        assert blamed and blamed <= {"SHA256SUMS", "manifest.json"}, (position, report.statuses)
