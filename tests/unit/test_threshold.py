"""Threshold analysis on a case with a closed form: the vaccine price at which vaccination's ICER
equals the threshold. With everything else fixed and common random numbers, the incremental net
benefit is linear in the price (price × doses given), so two runs give the exact root; Brent's
method on complete runs must find it to 0.1% (acceptance of issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaksim.analysis.threshold import incremental_nmb, threshold
from jaksim.cli import main

ROOT = Path(__file__).resolve().parents[2]
VACC = ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
KEY, ARM, WTP, N = "economics.vaccine_cost_per_dose", "rzv_all_before_start", 20000.0, 3000


def test_price_threshold_matches_the_closed_form():
    d0, _ = incremental_nmb(VACC, KEY, 0.0, ARM, WTP, n_patients=N)
    d1, _ = incremental_nmb(VACC, KEY, 100.0, ARM, WTP, n_patients=N)
    assert d1 < d0                                    # a dearer vaccine has less net benefit
    exact = 0.0 + d0 * 100.0 / (d0 - d1)              # root of the straight line through both
    r = threshold(VACC, KEY, ARM, WTP, 0.0, 5000.0, n_patients=N)
    assert r.value == pytest.approx(exact, rel=1e-3), (r.value, exact)
    d_at, _ = incremental_nmb(VACC, KEY, r.value, ARM, WTP, n_patients=N)
    assert abs(d_at) < 1e-3 * abs(d0)


def test_no_threshold_in_range_and_bad_arm(capsys):
    assert main(["threshold", str(VACC), "--key", KEY, "--arm", ARM, "--wtp", "20000", "--low", "1e6",
                 "--high", "2e6", "--n-patients", "500"]) == 0
    assert "No threshold in" in capsys.readouterr().out
    assert main(["threshold", str(VACC), "--key", KEY, "--arm", "nosuch", "--low", "0", "--high", "1",
                 "--n-patients", "500"]) == 2
    assert "--arm 'nosuch' is not a compared arm" in capsys.readouterr().err
