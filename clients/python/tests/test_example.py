"""The README's RAG example: the same code as examples/rag.py, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .conftest import PACKAGE_DIR, chronorag_bin

EXAMPLE = PACKAGE_DIR / "examples" / "rag.py"


def test_readme_shows_the_example_verbatim() -> None:
    readme = (PACKAGE_DIR / "README.md").read_text()
    m = re.search(r"<!-- example:rag -->\n```python\n(.*?)```", readme, re.S)
    assert m, "the README lost its example block"
    assert m.group(1) == EXAMPLE.read_text()


def test_example_runs_against_the_real_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, CHRONORAG_BIN=str(chronorag_bin()))
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "ingested 3 documents as transaction 1" in out.stdout
    context = out.stdout.split("Context:", 1)[1]
    assert "$4.4 billion" in context and "$4.1 billion" not in context
    assert "[acme-2023-Q3.md · 2023-Q3]" in context
    assert "Question: What revenue did Acme Corp report?" in out.stdout
