"""Results by subgroup of one run (analysis/subgroups.py): subgroups partition the patients, so
their patient-weighted means give back the whole run's economics and events exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaksim.analysis.subgroups import subgroup_table
from jaksim.cli import main
from jaksim.output.parquet import read_partition

ROOT = Path(__file__).resolve().parents[2]
VACC = ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sub") / "run"
    assert main(["run", str(VACC), "--n-patients", "1500", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("by", ["age", "female", "glucocorticoid_band", "indication"])
def test_subgroups_add_up_to_the_whole_run(run_folder, by):
    rows = subgroup_table(run_folder, by, 20000.0).to_pylist()
    arm = "rzv_all_before_start"
    mine = [r for r in rows if r["arm"] == arm]
    n = sum(r["n_patients"] for r in mine)
    assert n == 1500
    whole = read_partition(run_folder, "economics", arm).to_pylist()[0]
    for col, wcol in (("incremental_costs", "incremental_costs"), ("incremental_qalys", "incremental_qalys"),
                      ("mean_costs", "mean_costs")):
        weighted = sum(r[col] * r["n_patients"] for r in mine) / n
        assert weighted == pytest.approx(whole[wcol], rel=1e-9, abs=1e-12), col
    assert sum(1 for r in rows if r.get("optimal")) == len({r["subgroup"] for r in rows})


def test_bad_characteristic_is_one_line(run_folder, capsys):
    assert main(["subgroups", str(run_folder), "--by", "eye_colour"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--by 'eye_colour' is not a baseline characteristic" in err[0]


def test_subgroups_command_writes_parquet(run_folder, tmp_path, capsys):
    out = tmp_path / "sub.parquet"
    assert main(["subgroups", str(run_folder), "--by", "age", "--age-bands", "60", "--out", str(out)]) == 0
    assert out.is_file() and "By age" in capsys.readouterr().out
