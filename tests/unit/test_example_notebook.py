"""docs/example.py (the notebook-style example: run, PSA, report, export from Python) runs as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_runs(tmp_path):
    env = {**os.environ, "JAKSIM_EXAMPLE_PATIENTS": "400", "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "example.py")], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "report:" in out.stdout and "summary.csv" in out.stdout
