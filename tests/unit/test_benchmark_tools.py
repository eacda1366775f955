"""The benchmark's statistics and its warm interleaved passes (``benchmarks/suite.py``,
``benchmarks/warm_pairs.py``): the confidence interval of a median that the speed targets are
judged by, and a small end-to-end run of the interleaved workers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import suite  # noqa: E402


def test_median_interval_is_the_narrowest_order_statistic_pair_that_reaches_the_level():
    """For n = 6..80 the returned coverage is the exact binomial one, at least 95%, and the next
    narrower pair of order statistics would fall below 95%. Deterministic (rate 0)."""
    for n in range(6, 81):
        values = list(range(n))[::-1]                   # unsorted input
        low, high, cover = suite.median_interval(values)
        rank = low + 1                                  # 1-based rank of the lower order statistic
        assert high == n - rank and cover == 1 - 2 * binom.cdf(rank - 1, n, 0.5)
        assert cover >= 0.95
        if rank < n // 2:
            assert 1 - 2 * binom.cdf(rank, n, 0.5) < 0.95


def test_median_interval_covers_the_median_as_stated():
    """4,000 samples of 21 uniforms: the share of intervals holding the true median 1/2 is the
    stated coverage (0.9734) within 4 binomial standard errors (SE 0.0025; false-failure rate
    6.3e-5)."""
    rng = np.random.default_rng(20261203)
    hits, reps = 0, 4000
    cover = suite.median_interval(list(range(21)))[2]
    for _ in range(reps):
        low, high, _ = suite.median_interval(list(rng.random(21)))
        hits += low <= 0.5 <= high
    se = np.sqrt(cover * (1 - cover) / reps)
    assert abs(hits / reps - cover) < 4 * se


def test_small_sample_gives_the_full_range_and_its_coverage():
    low, high, cover = suite.median_interval([3.0, 1.0, 2.0, 5.0, 4.0])
    assert (low, high) == (1.0, 5.0) and cover == 1 - 2 * 0.5**5


@pytest.mark.slow
def test_warm_pairs_runs_its_three_workers_end_to_end():
    """Three warm workers (jaksim, jaksim with frailty, NumPy) at 3,000 patients, 3 rounds: every
    pass of a worker simulates the same events (same seed), every ratio is positive and finite,
    and the summary's medians lie inside their intervals."""
    import warm_pairs
    out = warm_pairs.passes(3000, 3, 1.0, gap=0.0)
    assert [len(v) for v in out.values()] == [3, 3, 3]
    for passes in out.values():
        assert len({p["events"] for p in passes}) == 1 and passes[0]["events"] > 0
    res = warm_pairs.summary(out)
    assert all(np.isfinite(r) and r > 0 for r in res["m0_vs_numpy_rounds"])
    assert all(np.isfinite(r) and r > -1 for r in res["frailty_slowdown_rounds"])
    for key in ("m0_vs_numpy", "frailty_slowdown"):
        assert res[key]["low"] <= res[key]["median"] <= res[key]["high"]
    assert "M0 vs NumPy" in warm_pairs.describe(res)


@pytest.mark.slow
def test_startup_floors_run_and_give_each_command_its_share_above_the_floor(tmp_path):
    """``benchmarks/startup.py``: both floor programs (third-party imports only; the run's also
    starts numba with a cached parallel function) exit 0, and a command's share above its floor is
    the median of its per-round differences, with an interval around it."""
    import subprocess

    import startup
    (tmp_path / "numba_floor.py").write_text(startup.NUMBA_FLOOR_MODULE)
    argv = startup.cases(tmp_path / "run")
    for name in ("libraries of validate (floor)", "libraries of a run (floor)"):
        done = subprocess.run(argv[name], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    raw = {"python -c pass": {"seconds": [0.05] * 7, "other_load": [0.0] * 7},
           "libraries of validate (floor)": {"seconds": [0.30 + 0.01 * i for i in range(7)], "other_load": [0.0] * 7},
           "jaksim validate": {"seconds": [0.34 + 0.01 * i for i in range(7)], "other_load": [0.0] * 7}}
    rows = {r["command"]: r for r in startup.summarise(raw)}
    assert rows["jaksim validate"]["above_floor_seconds"] == pytest.approx(0.04)
    low, high, _ = rows["jaksim validate"]["above_floor_interval"]
    assert low == pytest.approx(0.04) and high == pytest.approx(0.04)
    assert "above_floor_seconds" not in rows["python -c pass"]
    assert "0.040 (0.040–0.040)" in startup.markdown(list(rows.values()), {
        "repeats": 7, "cpus": 2, "loadavg_before": (0.0,), "loadavg_after": (0.0,), "label": "t", "started": "now"})
