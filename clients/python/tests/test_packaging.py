"""`pip install ./clients/python` into a fresh virtualenv (not editable), then the README example
run with that interpreter, as written."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from .conftest import PACKAGE_DIR, chronorag_bin


def test_fresh_non_editable_install_runs_the_example(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(PACKAGE_DIR)],
        capture_output=True, text=True, timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    probe = subprocess.run(
        [str(py), "-c",
         "import chronorag, importlib.metadata as m, pathlib;"
         "p = pathlib.Path(chronorag.__file__).parent;"
         "print(p); print((p / 'py.typed').exists());"
         "print(sorted(r.split(';')[0].strip() for r in m.requires('chronorag') if 'extra' not in r))"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    where, typed, deps = probe.stdout.splitlines()
    assert Path(where).is_relative_to(env_dir) and not Path(where).is_relative_to(PACKAGE_DIR)
    assert typed == "True"
    assert deps.startswith("['httpx") and deps.count("'") == 2  # httpx is the only dependency
    env = dict(os.environ, CHRONORAG_BIN=str(chronorag_bin()))
    run = subprocess.run(
        [str(py), str(PACKAGE_DIR / "examples" / "rag.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "$4.4 billion" in run.stdout
    assert sys.version_info >= (3, 9)
