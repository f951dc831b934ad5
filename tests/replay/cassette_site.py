"""Serve responses recorded from a real server (VCR.py cassettes) as a replay site."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from demo.flashback_site import Page

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class CassetteSite:
    """GET responses by path and query; a query that was never recorded falls back to the path alone."""

    def __init__(self, cassettes: list[Path], extra: dict[str, bytes] | None = None) -> None:
        self.exact: dict[str, Page] = {}
        self.by_path: dict[str, Page] = {}
        for cassette in cassettes:
            for interaction in yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]:
                request, response = interaction["request"], interaction["response"]
                if request["method"] != "GET":
                    continue
                target = urlsplit(request["uri"])
                headers = tuple(
                    (name, value)
                    for name, values in response["headers"].items()
                    if name.lower() not in _HOP_BY_HOP
                    for value in values
                )
                body = response["body"]["string"]
                page = Page(
                    response["status"]["code"],
                    body.encode("utf-8") if isinstance(body, str) else body,
                    dict((k.lower(), v) for k, v in headers).get("content-type", "application/json"),
                    tuple((k, v) for k, v in headers if k.lower() != "content-type"),
                )
                self.exact[f"{target.path}?{target.query}"] = page
                self.by_path.setdefault(target.path, page)
        for path, body in (extra or {}).items():
            self.by_path[path] = Page(200, body, "application/json; charset=utf-8")

    def handle(self, path: str, query: str, host: str = "") -> Page:
        page = self.exact.get(f"{path}?{query}") or self.by_path.get(path)
        return page or Page(404, b'{"error":"Record not found"}', "application/json")
