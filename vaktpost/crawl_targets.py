"""Turn ``vaktpost crawl`` arguments into a source configuration, the one a nightly run would use."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from vaktpost.settings import SOURCE_KINDS, FlashbackSource, MastodonSource, Settings, SourceConfig

_FLASHBACK_START = re.compile(r"^/(?P<kind>[ft])(?P<id>\d+)(?:p\d+)?/?$")
_MASTODON_TAG = re.compile(r"^/api/v1/timelines/tag/(?P<tag>[^/?]+)")
_MASTODON_ACCOUNT = re.compile(r"^/@(?P<acct>[^/]+)/?$")


def source_for_cli(settings: Settings, kind: str, base_url: str | None, starts: list[str]) -> SourceConfig:
    """The configured source of this kind (or its defaults), pointed at ``base_url``, started at ``starts``."""
    if kind not in SOURCE_KINDS:
        raise ValueError(f"unknown source {kind!r}; expected one of {', '.join(SOURCE_KINDS)}")
    configured = next((s for s in settings.sources if s.kind == kind), None)
    update: dict[str, object] = {}
    if base_url:
        update["base_url"] = base_url.rstrip("/")
    if kind == "flashback":
        source: SourceConfig = configured or FlashbackSource(kind="flashback")
        if starts:
            forums: list[int] = []
            threads: list[int] = []
            for start in starts:
                match = _FLASHBACK_START.match(urlsplit(start).path)
                if not match:
                    raise ValueError(f"--start {start!r}: expected a subforum /f<id> or a thread /t<id>")
                (forums if match["kind"] == "f" else threads).append(int(match["id"]))
            update.update(forums=forums, threads=threads)
    else:
        if configured is None and not base_url:
            raise ValueError("mastodon needs --base-url (the instance) or a [[sources]] entry in the settings")
        source = configured or MastodonSource(kind="mastodon", base_url=base_url or "")
        if starts:
            tags: list[str] = []
            accounts: list[str] = []
            for start in starts:
                path = start if start.startswith("#") else urlsplit(start).path
                if match := _MASTODON_TAG.match(path):
                    tags.append(unquote(match["tag"]).lower())
                elif match := _MASTODON_ACCOUNT.match(path):
                    accounts.append(match["acct"])
                elif re.fullmatch(r"#?\w+", path):
                    tags.append(path.lstrip("#").lower())
                else:
                    raise ValueError(f"--start {start!r}: expected /api/v1/timelines/tag/<tag>, #tag or /@account")
            update.update(hashtags=tags, accounts=accounts)
    return source.model_copy(update=update)
