"""notebooks/evaluation.ipynb runs top to bottom on the committed model (so it never goes stale)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "evaluation.ipynb"


def test_the_evaluation_notebook_executes() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend puts the figures into the notebook
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "macro-F1" in printed
    assert "FALSE POSITIVE" in printed or "MISSED" in printed
    assert any("image/png" in o.get("data", {}) for o in outputs if o.get("output_type") == "display_data")
