from __future__ import annotations

from pathlib import Path

import pytest

from vaktpost.settings import MastodonSource, SettingsError, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.sources == []
    assert settings.analysis.thresholds == {
        "disinformation": 0.5,
        "doxxing": 0.5,
        "threat": 0.5,
        "harassment": 0.5,
    }
    assert settings.store.backend == "sqlite"


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(
        tmp_path / "v.toml",
        """
data_dir = "/srv/vaktpost"
[analysis]
thresholds = { threat = 0.4 }
[[sources]]
kind = "mastodon"
base_url = "https://mastodon.example/"
hashtags = ["#LVU"]
""",
    )
    monkeypatch.setenv("VAKTPOST_DATA_DIR", "/data/override")
    monkeypatch.setenv("VAKTPOST_CRAWL__MAX_PAGES", "7")
    settings = load_settings(config)
    assert settings.data_dir == Path("/data/override")
    assert settings.crawl.max_pages == 7
    assert settings.analysis.thresholds["threat"] == 0.4
    assert settings.analysis.thresholds["harassment"] == 0.5
    source = settings.sources[0]
    assert isinstance(source, MastodonSource)
    assert (source.name, source.base_url, source.hashtags) == (
        "mastodon",
        "https://mastodon.example",
        ["lvu"],
    )


def test_config_file_from_environment_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "vaktpost.toml", 'data_dir = "from-cwd"\n')
    assert load_settings().data_dir == Path("from-cwd")
    monkeypatch.setenv("VAKTPOST_CONFIG", str(write(tmp_path / "other.toml", 'data_dir = "from-env"\n')))
    assert load_settings().data_dir == Path("from-env")


def test_bad_value_names_key_value_and_expectation(tmp_path: Path) -> None:
    config = write(tmp_path / "v.toml", "[analysis]\nbatch_size = 'many'\nthresholds = { threat = 1.5 }\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert str(config) in message
    assert "analysis.batch_size = 'many'" in message and "valid integer" in message
    assert "threshold for threat is 1.5" in message and "at most 1" in message
    assert "VAKTPOST_ANALYSIS__BATCH_SIZE" in message


def test_bad_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_STORE__BACKEND", "mysql")
    with pytest.raises(SettingsError, match=r"store\.backend = 'mysql': Input should be 'sqlite'"):
        load_settings()


def test_unknown_key_is_a_typo_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"crawl\.max_page: unknown setting"):
        load_settings(write(tmp_path / "v.toml", "[crawl]\nmax_page = 3\n"))


def test_sources_are_checked(tmp_path: Path) -> None:
    config = write(
        tmp_path / "v.toml",
        """
[[sources]]
kind = "mastodon"
base_url = "ftp://mastodon.example"
[[sources]]
kind = "myspace"
base_url = "https://myspace.example"
""",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "sources[0].base_url = 'ftp://mastodon.example': expected an http:// or https:// URL" in message
    assert "'myspace'" in message and "'flashback', 'mastodon'" in message


def test_source_names_are_unique(tmp_path: Path) -> None:
    config = write(tmp_path / "v.toml", '[[sources]]\nkind = "flashback"\n[[sources]]\nkind = "flashback"\n')
    with pytest.raises(SettingsError, match="two sources are named 'flashback'"):
        load_settings(config)


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"not valid TOML: .*line 1"):
        load_settings(write(tmp_path / "v.toml", "data_dir = \n"))
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_secrets_are_never_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_PSEUDONYM_KEY", "a-very-secret-key-value")
    settings = load_settings()
    assert "a-very-secret-key-value" not in settings.model_dump_json()
    assert "a-very-secret-key-value" not in repr(settings)


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "vaktpost.example.toml"
    settings = load_settings(example)
    assert settings.sources, "the example shows how sources are configured"


def test_crawl_command_targets() -> None:
    from vaktpost.crawl_targets import source_for_cli

    settings = load_settings()
    flashback = source_for_cli(settings, "flashback", "http://mirror.example/", ["/f350", "/t3525802p2", "/f48p3"])
    assert flashback.base_url == "http://mirror.example"
    assert (flashback.forums, flashback.threads) == ([350, 48], [3525802])  # type: ignore[union-attr]
    mastodon = source_for_cli(
        settings, "mastodon", "https://m.example", ["#LVU", "/api/v1/timelines/tag/socialtj%C3%A4nsten", "/@kim"]
    )
    assert (mastodon.hashtags, mastodon.accounts) == (["lvu", "socialtjänsten"], ["kim"])  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="expected a subforum"):
        source_for_cli(settings, "flashback", None, ["/u123"])
    with pytest.raises(ValueError, match=r"mastodon needs settings that have no default \(base_url\)"):
        source_for_cli(settings, "mastodon", None, [])
    with pytest.raises(ValueError, match="unknown source 'myspace'"):
        source_for_cli(settings, "myspace", None, [])
    telegram = source_for_cli(settings, "telegram", None, ["/s/kanal_ett", "kanal2"])
    assert telegram.channels == ["kanal_ett", "kanal2"]  # type: ignore[union-attr]
    reddit = source_for_cli(settings, "reddit", None, ["/r/sweden", "/r/svenskpolitik/search?q=LVU"])
    assert (reddit.subreddits, reddit.search_terms) == (["sweden", "svenskpolitik"], ["LVU"])  # type: ignore[union-attr]
    rss = source_for_cli(settings, "rss", None, ["https://news.example/feed/"])
    assert rss.feeds == ["https://news.example/feed/"]  # type: ignore[union-attr]
    bluesky = source_for_cli(settings, "bluesky", None, ["/profile/someone.bsky.social"])
    assert bluesky.actors == ["someone.bsky.social"]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="forum needs settings"):
        source_for_cli(settings, "forum", "https://forum.example", [])
