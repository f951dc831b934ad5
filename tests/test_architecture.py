"""Dependencies point one way: vaktpost <- crawlers, models, index <- alerts <- flows, review <- CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = {"vaktpost", "crawlers", "models", "index", "alerts", "flows", "demo", "review", "evidence"}

# What each package may import from the project (its own modules always).
ALLOWED: dict[str, set[str]] = {
    "vaktpost": set(),
    "demo": {"vaktpost"},
    "crawlers": {"vaktpost"},
    "models": {"vaktpost"},
    "index": {"vaktpost"},
    "alerts": {"vaktpost", "index"},
    "flows": {"vaktpost", "crawlers", "models", "index", "alerts", "demo"},
    "evidence": {"vaktpost", "index", "crawlers", "models"},
    "review": {"vaktpost", "index", "models", "evidence"},
}
# The CLI sits on top of everything.
EXEMPT = {ROOT / "vaktpost" / "cli.py"}


def imports(path: Path) -> list[tuple[str, str]]:
    """(top-level package, full module) of every project import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [(name.split(".")[0], name) for name in names if name.split(".")[0] in STAGES]
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_one_way(package: str) -> None:
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path in EXEMPT:
            continue
        for top, module in imports(path):
            if top == package:
                continue
            if top not in ALLOWED[package]:
                problems.append(f"{path.relative_to(ROOT)} imports {module}")
            elif module.count(".") > 0 and package != "flows" and top != "vaktpost":
                problems.append(f"{path.relative_to(ROOT)} reaches into {module}; use the package's public interface")
    assert not problems, "\n".join(problems)


def test_stages_use_each_others_public_interfaces_only() -> None:
    """flows may use a stage's public package and its documented entry modules, not parsing internals."""
    internals = (
        "crawlers.spiders",
        "crawlers.pipelines",
        "crawlers.middlewares",
        "models.lexicon",
        "models.pii",
        "index.sqlite",
    )
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in ("flows", "alerts")
        for path in (ROOT / package).rglob("*.py")
        for _, module in imports(path)
        if module.startswith(internals)
    ]
    assert not offenders, offenders
