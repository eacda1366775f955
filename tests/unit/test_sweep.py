"""jaksim sweep: a grid of --set overrides under common random numbers, one table per kind; each
variant's rows equal the tables of a separate run with the same settings."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.run.sweep import settings_of, variants_of

ROOT = Path(__file__).resolve().parents[2]
VACC = ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


def _grid(tmp_path, n_values=2) -> Path:
    grid = tmp_path / "grid.yaml"
    prices = [100, 150, 200][:n_values]
    uptakes = [0.5, 0.7, 0.9][:n_values]
    grid.write_text(f"grid:\n  economics.vaccine_cost_per_dose: {prices}\n"
                    f"  arms.rzv_all_before_start.vaccination.uptake: {uptakes}\n")
    return grid


def _separate(tmp_path, variant: dict, i: int, table: str):
    out = tmp_path / f"separate{i}"
    argv = ["run", str(VACC), "--n-patients", "300", "--out", str(out)]
    for s in settings_of(variant):
        argv += ["--set", s]
    assert main(argv) == 0
    import pyarrow.dataset as ds
    t = ds.dataset(out / table, format="parquet", partitioning="hive").to_table()
    return t


def _check_grid(tmp_path, n_values):
    grid = _grid(tmp_path, n_values)
    out = tmp_path / "sweep"
    assert main(["sweep", str(VACC), str(grid), "--n-patients", "300", "--out", str(out)]) == 0
    econ = pq.read_table(out / "economics.parquet")
    variants = variants_of(grid)
    assert len(variants) == n_values ** 2 and sorted(set(econ.column("variant").to_pylist())) == list(
        range(n_values ** 2))
    for i, v in enumerate(variants):
        mine = econ.filter(pc.equal(econ.column("variant"), i))
        alone = _separate(tmp_path, v, i, "economics")
        for col in ("mean_costs", "mean_qalys", "incremental_costs", "incremental_qalys"):
            got = dict(zip(mine.column("arm").to_pylist(), mine.column(col).to_pylist(), strict=True))
            want = dict(zip(alone.column("arm").to_pylist(), alone.column(col).to_pylist(), strict=True))
            assert got == want, (v, col)


def test_two_by_two_grid_equals_four_separate_runs(tmp_path):
    _check_grid(tmp_path, 2)


@pytest.mark.slow
def test_three_by_three_grid_equals_nine_separate_runs(tmp_path):
    _check_grid(tmp_path, 3)


@pytest.mark.parametrize("text,words", [
    ("grid: {horizon_years: 3}\n", "non-empty list"), ("variants: [{}]\n", "non-empty mappings"),
    ("other: 1\n", "a grid file is a mapping"),
])
def test_bad_grid_files(tmp_path, text, words):
    g = tmp_path / "g.yaml"
    g.write_text(text)
    with pytest.raises(ScenarioError, match=words):
        variants_of(g)


def test_a_bad_variant_is_refused_before_anything_runs(tmp_path, capsys):
    g = tmp_path / "g.yaml"
    g.write_text("variants: [{horizon_years: 2}, {horizon_years: -1}]\n")
    out = tmp_path / "sweep"
    assert main(["sweep", str(VACC), str(g), "--n-patients", "300", "--out", str(out)]) == 2
    assert "horizon_years" in capsys.readouterr().err and not out.exists()
