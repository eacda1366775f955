"""The golden comparison (``golden.py``) on small synthetic tables: last bits pass, real changes fail."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from golden import (
    REL_TOL,
    compare_entries,
    compare_folders,
    fingerprints_agree,
    float_fingerprint,
    folder_fingerprints,
    manifest_fingerprint,
    table_fingerprint,
)

RATES = [1.5, 2.25, -0.75, 3.125, 10.0, float("nan"), 0.1]
PARAMETERS: dict[str, Any] = {"hazard_ratio": 1.6524943881893586, "ci95": [0.9269611185487913, 5.8464696953848385],
              "weeks": 4, "source": "trial", "delay": 4.0}


def _ulp_up(x: float) -> float:
    return float(np.nextafter(x, math.inf))


def _write(path, rates=RATES, events=(0, 1, 2, 0, 1, 3, 0), kind=("a", "b", "a", "c", "b", "a", "a"),
           parameters=PARAMETERS, arm="base", rate_type=pa.float64()):
    table = pa.table({"events": pa.array(events, pa.int64()), "kind": pa.array(kind, pa.string()),
                      "rate": pa.array(rates, rate_type), "flag": pa.array([e > 0 for e in events])})
    meta = {"jaksim.arm": arm, "jaksim.parameters": json.dumps(parameters),
            "jaksim.dependencies": json.dumps({"numpy": "0.0"})}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return table_fingerprint(path)


@pytest.fixture
def baseline(tmp_path):
    return _write(tmp_path / "base.parquet")


def _agrees(baseline, tmp_path, **change) -> bool:
    return compare_entries(baseline, _write(tmp_path / "changed.parquet", **change)) == []


def test_the_same_table_agrees_and_volatile_metadata_is_ignored(baseline, tmp_path):
    path = tmp_path / "again.parquet"
    table = pq.read_table(tmp_path / "base.parquet")
    meta = {**table.schema.metadata, b"jaksim.dependencies": b'{"numpy": "9.9"}'}
    pq.write_table(table.replace_schema_metadata(meta), path)
    assert compare_entries(baseline, table_fingerprint(path)) == []
    assert set(baseline["floats"]) == {"rate", "metadata:jaksim.parameters"}


def test_a_last_bit_change_passes(baseline, tmp_path):
    """What another CPU's exp, log or BLAS kernel does: one ulp, in any value, column or metadata."""
    rates = [_ulp_up(x) for x in RATES]
    assert _agrees(baseline, tmp_path, rates=rates)
    parameters = {**PARAMETERS, "hazard_ratio": _ulp_up(PARAMETERS["hazard_ratio"]),
                  "ci95": [_ulp_up(x) for x in PARAMETERS["ci95"]]}
    assert _agrees(baseline, tmp_path, rates=rates, parameters=parameters)


@pytest.mark.parametrize("row", [0, 1, 4, 6])
def test_one_value_changed_by_a_millionth_fails(baseline, tmp_path, row):
    rates = list(RATES)
    rates[row] *= 1 + 1e-6
    why = compare_entries(baseline, _write(tmp_path / "changed.parquet", rates=rates))
    assert why and why[0].startswith("rate: float fingerprint")


def test_a_permutation_fails(baseline, tmp_path):
    rates = list(RATES)
    rates[0], rates[1] = rates[1], rates[0]
    changed = _write(tmp_path / "changed.parquet", rates=rates)
    assert changed["floats"]["rate"][:2] == baseline["floats"]["rate"][:2]    # same sum and sum of |x|
    assert not _agrees(baseline, tmp_path, rates=rates)                         # the weighted sum sees it
    assert not _agrees(baseline, tmp_path, rates=RATES[4:5] + RATES[:4] + RATES[5:])           # a rotation


def test_a_change_of_metadata_floats_fails(baseline, tmp_path):
    assert not _agrees(baseline, tmp_path, parameters={**PARAMETERS, "hazard_ratio": 1.6524943881893586 * (1 + 1e-6)})
    assert not _agrees(baseline, tmp_path, parameters={**PARAMETERS, "ci95": PARAMETERS["ci95"][::-1]})


@pytest.mark.parametrize("change", [
    {"events": (0, 1, 2, 0, 1, 3, 1)},                                   # an integer
    {"kind": ("a", "b", "a", "c", "b", "a", "b")},                       # a string
    {"rates": [1.5, 2.25, -0.75, 3.125, 10.0, 0.0, float("nan")]},      # where the NaN is
    {"rates": RATES[:-1] + [None]},                                      # a null
    {"rates": RATES[:-1] + [math.inf]},                                  # an infinity
    {"rate_type": pa.float32()},                                         # a column type
    {"arm": "other"},                                                    # a metadata string
    {"parameters": {**PARAMETERS, "weeks": 4.0}},                        # an integer that became a float
    {"parameters": {**PARAMETERS, "source": "trials"}},                  # a string in JSON metadata
])
def test_exact_parts_fail_on_any_change(baseline, tmp_path, change):
    assert compare_entries(baseline, _write(tmp_path / "changed.parquet", **change)) == \
        ["schema, non-float values, NaN/null positions or metadata changed"]


def test_tolerance_is_relative_to_the_sum_of_absolute_values():
    x = [1e6, 1.0, -2.0]
    scale = math.fsum(abs(v) for v in x)
    assert fingerprints_agree(float_fingerprint(x), float_fingerprint([1e6 + 0.5 * REL_TOL * scale, 1.0, -2.0]))
    assert not fingerprints_agree(float_fingerprint(x), float_fingerprint([1e6 + 3 * REL_TOL * scale, 1.0, -2.0]))
    assert fingerprints_agree(float_fingerprint([0.0, 0.0]), float_fingerprint([0.0, 0.0]))
    assert not fingerprints_agree(float_fingerprint([0.0, 0.0]), float_fingerprint([0.0, 1e-300]))


def test_manifest_ignores_volatile_keys_and_compares_floats_by_tolerance(tmp_path):
    def manifest(name, **values):
        doc = {"scenario": "s", "n_patients": 3000, "horizon_years": 5.0, "share": 0.123456789,
               "files": {"a.parquet": [1, "ff"]}, "pathway_seconds": 1.25, **values}
        (tmp_path / name).write_text(json.dumps(doc))
        return manifest_fingerprint(tmp_path / name)

    base = manifest("base.json")
    assert compare_entries(base, manifest("a.json", files={"a.parquet": [2, "00"]}, pathway_seconds=9.0)) == []
    assert compare_entries(base, manifest("b.json", share=_ulp_up(0.123456789))) == []
    assert compare_entries(base, manifest("c.json", share=0.123456789 * (1 + 1e-6)))
    assert compare_entries(base, manifest("d.json", n_patients=3001))


def test_folders_report_missing_and_extra_files(tmp_path):
    (tmp_path / "run").mkdir()
    _write(tmp_path / "run" / "a.parquet")
    expected = folder_fingerprints(tmp_path / "run")
    assert compare_folders(expected, expected) == {}
    assert compare_folders(expected, {}) == {"a.parquet": ["missing"]}
    assert compare_folders({}, expected) == {"a.parquet": ["not in the baseline"]}
