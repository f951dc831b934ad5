"""Turn ``vaktpost crawl`` arguments into a source configuration, the one a nightly run would use."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import TypeAdapter, ValidationError

from vaktpost.settings import SOURCE_KINDS, Settings, SourceConfig

_FLASHBACK_START = re.compile(r"^/(?P<kind>[ft])(?P<id>\d+)(?:p\d+)?/?$")
_MASTODON_TAG = re.compile(r"^/api/v1/timelines/tag/(?P<tag>[^/?]+)")
_MASTODON_ACCOUNT = re.compile(r"^/@(?P<acct>[^/]+)/?$")
_NAME = re.compile(r"^#?[\w.:-]+$")


def source_for_cli(settings: Settings, kind: str, base_url: str | None, starts: list[str]) -> SourceConfig:
    """The configured source of this kind (or its defaults), pointed at ``base_url``, started at ``starts``."""
    if kind not in SOURCE_KINDS:
        raise ValueError(f"unknown source {kind!r}; expected one of {', '.join(SOURCE_KINDS)}")
    source: Any = next((s for s in settings.sources if s.kind == kind), None)
    if source is None:
        try:
            source = TypeAdapter(SourceConfig).validate_python(
                {"kind": kind, **({"base_url": base_url} if base_url else {})}
            )
        except ValidationError as err:
            missing = ", ".join(".".join(map(str, e["loc"][1:])) for e in err.errors())
            raise ValueError(
                f"{kind} needs settings that have no default ({missing}): add a [[sources]] entry"
                + ("" if base_url else " or pass --base-url")
            ) from None
    update: dict[str, object] = {}
    if base_url:
        update["base_url"] = base_url.rstrip("/")
    if starts:
        update.update(_STARTS[kind](starts))
    result: SourceConfig = source.model_copy(update=update)
    return result


def _flashback(starts: list[str]) -> dict[str, object]:
    forums: list[int] = []
    threads: list[int] = []
    for start in starts:
        match = _FLASHBACK_START.match(urlsplit(start).path)
        if not match:
            raise ValueError(f"--start {start!r}: expected a subforum /f<id> or a thread /t<id>")
        (forums if match["kind"] == "f" else threads).append(int(match["id"]))
    return {"forums": forums, "threads": threads}


def _mastodon(starts: list[str]) -> dict[str, object]:
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
    return {"hashtags": tags, "accounts": accounts}


def _reddit(starts: list[str]) -> dict[str, object]:
    subreddits: list[str] = []
    terms: list[str] = []
    for start in starts:
        parts = urlsplit(start)
        if match := re.match(r"^/?r/(?P<sub>[\w+]+)", parts.path):
            subreddits.append(match["sub"])
            terms += parse_qs(parts.query).get("q", [])
        elif parts.path.rstrip("/").endswith("/search") and parse_qs(parts.query).get("q"):
            terms += parse_qs(parts.query)["q"]
        elif _NAME.match(start):
            subreddits.append(start)
        else:
            raise ValueError(f"--start {start!r}: expected /r/<subreddit>, /r/<subreddit>/search?q=<term> or a name")
    return {"subreddits": subreddits, "search_terms": terms}


def _names(field: str, pattern: str, example: str) -> Callable[[list[str]], dict[str, object]]:
    def parse(starts: list[str]) -> dict[str, object]:
        names = []
        for start in starts:
            path = urlsplit(start).path if "://" in start or start.startswith("/") else start
            match = re.match(pattern, path)
            if match:
                names.append(unquote(match["name"]))
            elif _NAME.match(start):
                names.append(start.lstrip("@"))
            else:
                raise ValueError(f"--start {start!r}: expected {example}")
        return {field: names}

    return parse


def _urls(field: str) -> Callable[[list[str]], dict[str, object]]:
    def parse(starts: list[str]) -> dict[str, object]:
        for start in starts:
            if not (start.startswith(("http://", "https://", "/"))):
                raise ValueError(f"--start {start!r}: expected a URL or a path starting with /")
        return {field: list(starts)}

    return parse


_STARTS: dict[str, Callable[[list[str]], dict[str, object]]] = {
    "flashback": _flashback,
    "mastodon": _mastodon,
    "reddit": _reddit,
    "telegram": _names("channels", r"^/s/(?P<name>[\w]+)", "/s/<channel> or a channel name"),
    "bluesky": _names("actors", r"^/profile/(?P<name>[^/]+)", "/profile/<handle> or a handle or DID"),
    "rss": _urls("feeds"),
    "forum": _urls("start_urls"),
}
