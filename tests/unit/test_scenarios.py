"""Every scenario shipped in scenarios/ validates and runs end to end from the CLI (small n)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jaksim.cli import main

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def test_scenarios_are_shipped():
    assert len(SCENARIOS) >= 8


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_validates_and_runs(path, tmp_path, capsys):
    assert main(["validate", str(path)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(path), "--n-patients", "600", "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    manifest = json.loads((out / "jaksim.json").read_text())
    summary = ds.dataset(out / "summary", format="parquet", partitioning="hive").to_table()
    assert summary.num_rows >= len(manifest["arms"]) * (len(manifest["infection_types"]) + 1)
    for arm in manifest["arms"]:
        assert arm in printed
    assert all(py > 0 for py in summary.column("person_years").to_pylist())
