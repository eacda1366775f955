"""Per-cycle table for Markov models (``jaksim run --cycle-length``): counts per cycle add up
exactly to the run's summary, and the transition probabilities follow their definitions."""

from __future__ import annotations

import functools
import math

import numpy as np
import pyarrow.dataset as ds
import pytest

from helpers import MINIMAL, write_scenario
from jaksim.analysis.cycles import cycle_bounds
from jaksim.cli import main
from jaksim.errors import JaksimError
from jaksim.model import spec
from jaksim.run import engine
from jaksim.scenario import load as config


def _read(folder, table):
    return ds.dataset(folder / table, format="parquet", partitioning="hive").to_table().to_pandas()


def _check_adds_up(folder) -> None:
    cycles, summary = _read(folder, "cycles"), _read(folder, "summary")
    assert len(summary) > 0
    for _, s in summary.iterrows():
        c = cycles[(cycles.arm == s.arm) & (cycles.outcome == s.type)].sort_values("cycle")
        assert c.events.sum() == s.events, (s.arm, s.type)
        assert c.first_events.sum() == s.patients_with_event, (s.arm, s.type)
        # exactly, bit for bit: with fsum and with a plain left-to-right sum
        assert math.fsum(c.person_years) == s.person_years, (s.arm, s.type)
        assert functools.reduce(lambda a, b: a + b, c.person_years.tolist()) == s.person_years
        assert c.n_at_risk.iloc[0] == s.n_patients


def test_cycles_add_up_to_the_summary_exactly(vaccination_run):
    _check_adds_up(vaccination_run)
    cycles = _read(vaccination_run, "cycles")
    assert cycles.cycle.max() == 19 and (cycles.end_years - cycles.start_years).round(12).eq(0.25).all()
    assert set(cycles.outcome) >= {"herpes_zoster", "post_herpetic_neuralgia", "death"}


def test_transition_probabilities_follow_their_definitions(vaccination_run):
    c = _read(vaccination_run, "cycles")
    length = c.end_years - c.start_years
    rate = c.events / c.person_years
    assert np.allclose(c.transition_probability, 1 - np.exp(-rate * length), rtol=1e-12)
    assert np.allclose(c.rate_per_100py, 100 * rate, rtol=1e-12)
    assert np.allclose(c.first_event_probability, c.first_events / c.n_at_risk_first_event, rtol=1e-12)
    assert (c.transition_probability_ci_lower <= c.transition_probability).all()
    assert (c.transition_probability <= c.transition_probability_ci_upper).all()
    assert (c.first_event_probability_ci_lower <= c.first_event_probability).all()
    assert (c.first_event_probability <= c.first_event_probability_ci_upper).all()
    death = c[c.outcome == "death"]
    assert (death.n_at_risk_first_event == death.n_at_risk).all()
    # at risk at the next cycle = at risk now minus those who died in this cycle (no other exit)
    for _, d in death.groupby("arm"):
        d = d.sort_values("cycle")
        assert (d.n_at_risk.to_numpy()[1:] == (d.n_at_risk - d.events).to_numpy()[:-1]).all()
    assert (c.n_at_risk_first_event <= c.n_at_risk).all()


SCENARIO = MINIMAL + "arms:\n  low: {}\n  high:\n    infections: {infection_a: {rate_per_100py: 30.0}}\n"


@pytest.mark.parametrize("length", [0.3, 1.0, 2.5, 0.01])
def test_any_cycle_length_adds_up_and_does_not_depend_on_chunks(tmp_path, length):
    path = write_scenario(tmp_path, SCENARIO)
    runs = []
    for name, chunk in (("a", "700"), ("b", "65536")):
        out = tmp_path / name
        assert main(["run", str(path), "--out", str(out), "--chunk-size", chunk, "--threads", "1",
                     "--cycle-length", str(length)]) == 0
        _check_adds_up(out)
        runs.append(_read(out, "cycles").sort_values(["arm", "cycle", "outcome"]).reset_index(drop=True))
    assert runs[0].equals(runs[1])
    bounds = cycle_bounds(2.0, length)
    assert runs[0].cycle.max() == len(bounds) - 2 and runs[0].end_years.max() == 2.0


def test_cycle_bounds_and_bad_lengths(tmp_path):
    assert cycle_bounds(5.0, 0.25).tolist() == [0.25 * i for i in range(21)]
    assert cycle_bounds(5.0, 3.0).tolist() == [0.0, 3.0, 5.0]
    assert cycle_bounds(5.0, 10.0).tolist() == [0.0, 5.0]
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e-9):
        with pytest.raises(JaksimError, match="cycle"):
            cycle_bounds(5.0, bad)
    path = write_scenario(tmp_path, MINIMAL)
    assert main(["run", str(path), "--out", str(tmp_path / "x"), "--cycle-length", "0"]) == 2
    assert not (tmp_path / "x").exists()


def test_no_cycle_length_no_cycles_table(tmp_path):
    path = write_scenario(tmp_path, MINIMAL)
    assert main(["run", str(path), "--out", str(tmp_path / "x")]) == 0
    assert not (tmp_path / "x" / "cycles").exists()


def test_resumed_run_gives_the_same_cycles(tmp_path):
    sc = config.load_scenario(write_scenario(tmp_path, SCENARIO))
    model = spec.build_model(sc)
    options = dict(chunk_size=500, checkpoint_patients=800, threads=1, cycle_length=0.5)
    engine.run_to_folder(model, tmp_path / "whole", **options)
    done = [0]

    def stop(n):
        done[0] += n
        if done[0] >= 2 * 1200:             # within the second segment, after one checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.run_to_folder(model, tmp_path / "split", progress=stop, **options)
    engine.run_to_folder(model, tmp_path / "split", resume=True, **options)
    for arm in ("low", "high"):
        part = f"cycles/arm={arm}/part-00000.parquet"
        assert (tmp_path / "whole" / part).read_bytes() == (tmp_path / "split" / part).read_bytes()
    done[0] = 0
    with pytest.raises(KeyboardInterrupt):
        engine.run_to_folder(model, tmp_path / "other", progress=stop, **options)
    with pytest.raises(Exception, match="cycle length"):
        engine.run_to_folder(model, tmp_path / "other", resume=True, **{**options, "cycle_length": 0.25})
