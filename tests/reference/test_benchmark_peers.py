"""The benchmark's statistical cross-check runs with the suite (issue 5: the NumPy and SimPy peers
agree with jaksim and with M0's analytic expectation at small N; ``benchmarks/check_peers.py``
states its tests and their false-failure rate, ≤ 0.1% per seed, seeds fixed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_peers_agree_with_jaksim_and_the_analytic_expectation():
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "benchmarks" / "check_peers.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
