"""Every shipped scenario gives the committed output, file by file (``golden.py``)."""

from __future__ import annotations

import json

import pytest
from golden import BASELINE, SCENARIOS, compute


@pytest.mark.slow
def test_every_shipped_scenario_matches_the_golden_baseline(tmp_path):
    expected = json.loads(BASELINE.read_text())
    got = compute(tmp_path)
    shipped = {p.stem for p in SCENARIOS.glob("*.yaml")}
    assert shipped <= set(expected), f"scenarios without a baseline: {sorted(shipped - set(expected))}; " \
                                     "run 'python tests/regression/golden.py --update'"
    changed = [f"{run}/{f}" for run in expected for f in expected[run].keys() | got.get(run, {}).keys()
               if expected[run].get(f) != got.get(run, {}).get(f)]
    assert not changed, (f"{len(changed)} output files differ from the golden baseline, e.g. {changed[:5]}; "
                         "if the change of numbers is intended, run 'python tests/regression/golden.py "
                         "--update' and commit golden.json with it")
