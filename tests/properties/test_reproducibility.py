"""Reproducibility: the same seed gives byte-identical Parquet files whatever the thread count
and chunk size (API and CLI), and a different seed or PSA draw gives different data.

All checks are deterministic (false-failure rate 0, except where stated): the properties are
exact, not statistical.
"""

from __future__ import annotations

import json
from pathlib import Path

import numba
import numpy as np
import pyarrow.parquet as pq
import pytest

import jaksim
from jaksim import cli
from jaksim.model import spec
from jaksim.run import engine
from jaksim.scenario import load as config

# Every time-varying part, consequences, two arms; 140 000 patients make two row groups of
# the patients table (jaksim.io.ROW_GROUP_ROWS = 131 072) and many chunks at chunk size 1000.
N = 140_000
SCENARIO = """\
name: repro
seed: 424242
n_patients: 140000
horizon_years: 3
frailty: {serious_infection: {variance: 1.5}, herpes_zoster: library}
cohort:
  age: {distribution: truncated_normal, mean_years: 58, sd_years: 12, min_years: 18, max_years: 95}
  age_advances: true
  female: 0.7
  asia: 0.2
  glucocorticoid: {below_7_5mg: 0.4, at_least_7_5mg: 0.15}
  prior_zoster: 0.1
  diabetes: 0.15
  zoster_vaccinated: 0.2
treatment:
  drug: tofacitinib
  dose_mg: 5
  discontinuation_rate_per_100py: 15
  off_treatment_hazard_ratio: 0.6
  glucocorticoid_taper:
    - {at_weeks: 12, max_band: below_7_5mg}
infections:
  serious_infection:
    rate_per_100py: 6
    hazard_ratios: {age_per_10_years: 1.3, glucocorticoid_below_7_5mg: 1.5, glucocorticoid_7_5mg_or_more: 2.2,
                    female: 1, asia: 1, prior_zoster: 1, diabetes: 1.4, zoster_vaccinated: 1}
    hospitalisation_probability: 0.8
    serious_probability: 1
    discontinuation_probability: 0.3
  herpes_zoster:
    rate_per_100py: 8
    hazard_ratios: {age_per_10_years: 1.2, glucocorticoid_below_7_5mg: 1.3, glucocorticoid_7_5mg_or_more: 1.6,
                    female: 1.1, asia: 1.8, prior_zoster: 1.5, diabetes: 1.2, zoster_vaccinated: 0.3}
    time_on_treatment: [{until_years: 0.5, hazard_ratio: 1.5}]
    hospitalisation_probability: 0.05
    serious_probability: 0.1
    discontinuation_probability: 0.1
  tuberculosis:
    rate_per_100py: 0.5
    hazard_ratios: {age_per_10_years: 1, glucocorticoid_below_7_5mg: 1, glucocorticoid_7_5mg_or_more: 1,
                    female: 1, asia: 3, prior_zoster: 1, diabetes: 1, zoster_vaccinated: 1}
    hospitalisation_probability: 0.5
    serious_probability: 1
    discontinuation_probability: 1
mortality:
  life_table: us_2019
  excess_mortality_ratio: 1.5
  case_fatality: {serious_infection: 0.03, herpes_zoster: 0, tuberculosis: 0.05}
arms:
  tofacitinib_5mg: {}
  tofacitinib_10mg:
    treatment: {dose_mg: 10}
    infections:
      herpes_zoster: {rate_per_100py: 11}
"""

#: the module's runs (every file of several 2-chunk runs) take about 5 s: not in the quick subset
pytestmark = pytest.mark.slow


def files(out: Path) -> dict[str, bytes]:
    """Every file of a run folder (relative path → bytes)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The reference run (2 threads, chunk 65 536) and its variants, written once."""
    tmp = tmp_path_factory.mktemp("repro")
    path = tmp / "repro.yaml"
    path.write_text(SCENARIO)
    sc = config.scenario_from_text(SCENARIO)
    out = {}
    try:
        jaksim.run(sc, out=tmp / "ref", threads=2, chunk_size=65536)
        out["ref"] = tmp / "ref"
        jaksim.run(sc, out=tmp / "one_thread", threads=1, chunk_size=65536)
        out["one_thread"] = tmp / "one_thread"
        assert cli.main(["run", str(path), "--out", str(tmp / "chunk_1000"), "--chunk-size", "1000",
                         "--threads", "2"]) == 0
        out["chunk_1000"] = tmp / "chunk_1000"
        jaksim.run(sc, out=tmp / "chunk_1000_one_thread", threads=1, chunk_size=1000)
        out["chunk_1000_one_thread"] = tmp / "chunk_1000_one_thread"
        jaksim.run(sc, out=tmp / "other_seed", seed=424243)
        out["other_seed"] = tmp / "other_seed"
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return out


def test_reference_run_spans_several_chunks_and_row_groups(runs):
    """The comparison below is meaningful: both arms, several row groups, plenty of events."""
    ref = runs["ref"]
    for arm in ("tofacitinib_5mg", "tofacitinib_10mg"):
        patients = pq.ParquetFile(ref / "patients" / f"arm={arm}" / "part-00000.parquet")
        events = pq.ParquetFile(ref / "events" / f"arm={arm}" / "part-00000.parquet")
        assert patients.metadata.num_rows == N and patients.metadata.num_row_groups >= 2
        assert events.metadata.num_rows > 20_000
        flags = events.read(columns=["hospitalised", "fatal", "stops_treatment", "on_treatment"])
        for col in flags.column_names:      # every consequence actually occurs
            assert 0 < sum(flags.column(col).to_pylist()) < events.metadata.num_rows


@pytest.mark.parametrize("variant", ["one_thread", "chunk_1000", "chunk_1000_one_thread"])
def test_same_seed_gives_byte_identical_files(runs, variant):
    """events, patients and summary Parquet files of every arm, and the manifest, are
    byte-identical for 1 vs 2 threads and chunk size 1000 (CLI) vs 65 536 (API)."""
    ref, other = files(runs["ref"]), files(runs[variant])
    assert sorted(ref) == sorted(other)
    assert sum(name.endswith(".parquet") for name in ref) == 7   # 3 tables x 2 arms + 1 contrast
    for name in ref:
        assert ref[name] == other[name], name


def test_different_seed_gives_different_data(runs):
    """Another seed changes the patients (ages), the event times and the totals; the data
    (not just the seed in the metadata) differ."""
    a, b = runs["ref"], runs["other_seed"]
    for arm in ("tofacitinib_5mg", "tofacitinib_10mg"):
        pa_ = pq.read_table(a / "patients" / f"arm={arm}" / "part-00000.parquet")
        pb_ = pq.read_table(b / "patients" / f"arm={arm}" / "part-00000.parquet")
        ages_a, ages_b = pa_.column("age_years").to_numpy(), pb_.column("age_years").to_numpy()
        assert np.mean(ages_a == ages_b) < 0.001
        ea = pq.read_table(a / "events" / f"arm={arm}" / "part-00000.parquet").column("time_years").to_numpy()
        eb = pq.read_table(b / "events" / f"arm={arm}" / "part-00000.parquet").column("time_years").to_numpy()
        assert np.intersect1d(ea, eb).size < 0.001 * min(ea.size, eb.size)
        fa = pa_.column("follow_up_years").to_numpy()
        fb = pb_.column("follow_up_years").to_numpy()
        assert not np.array_equal(fa, fb)
    manifest = json.loads((b / "jaksim.json").read_text())
    assert manifest["seed"] == 424243


def test_arms_share_patients_and_random_numbers(runs):
    """Common random numbers across the arms of one run: identical patient characteristics;
    and tuberculosis, whose parameters are the same in both arms, has its events at the same
    times, bit for bit, in both arms for as long as the patient's treatment status agrees
    (the arms differ in zoster, which can stop treatment and so change the off-treatment
    hazard, never the random numbers): every TB event before the patient's first treatment
    stop in either arm (a TB event may itself stop treatment) appears in both."""
    ref = runs["ref"]
    p5 = pq.read_table(ref / "patients" / "arm=tofacitinib_5mg" / "part-00000.parquet")
    p10 = pq.read_table(ref / "patients" / "arm=tofacitinib_10mg" / "part-00000.parquet")
    for col in ("patient_id", "age_years", "female", "asia", "prior_zoster", "diabetes", "zoster_vaccinated",
                "glucocorticoid_band", "indication"):
        assert p5.column(col).equals(p10.column(col)), col
    stop = np.fmin(np.nan_to_num(p5.column("treatment_stop_years").to_numpy(zero_copy_only=False), nan=np.inf),
                   np.nan_to_num(p10.column("treatment_stop_years").to_numpy(zero_copy_only=False), nan=np.inf))

    def early_tb(arm):
        ev = pq.read_table(ref / "events" / f"arm={arm}" / "part-00000.parquet",
                           columns=["patient_id", "type", "time_years"]).to_pydict()
        return {(pid, t) for pid, typ, t in zip(ev["patient_id"], ev["type"], ev["time_years"], strict=False)
                if typ == "tuberculosis" and t <= stop[pid]}

    e5, e10 = early_tb("tofacitinib_5mg"), early_tb("tofacitinib_10mg")
    assert len(e5) > 500
    assert e5 == e10


def test_psa_draw_changes_data_reproducibly(tmp_path):
    """``run_to_folder`` with draw 1 differs from draw 0 and repeats itself byte for byte."""
    sc = config.scenario_from_text(SCENARIO).with_overrides(n_patients=3000)
    outs = {}
    try:
        for name, draw in (("d0", 0), ("d1", 1), ("d1_again", 1)):
            engine.run_to_folder(spec.build_model(sc, draw=draw), tmp_path / name, draw=draw)
            outs[name] = files(tmp_path / name)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert outs["d1"] == outs["d1_again"]
    t0 = pq.read_table(tmp_path / "d0" / "events" / "arm=tofacitinib_5mg" / "part-00000.parquet")
    t1 = pq.read_table(tmp_path / "d1" / "events" / "arm=tofacitinib_5mg" / "part-00000.parquet")
    assert set(t1.column("draw").to_pylist()) == {1}
    times0, times1 = t0.column("time_years").to_numpy(), t1.column("time_years").to_numpy()
    assert np.intersect1d(times0, times1).size == 0
