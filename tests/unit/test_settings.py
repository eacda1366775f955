"""--set key.path=value on validate, run and psa: applied before validation, checked like the
file, recorded in the scenario text of the outputs."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.scenario.load import load_scenario
from jaksim.scenario.settings import apply_settings

ROOT = Path(__file__).resolve().parents[2]
DOSE = ROOT / "scenarios" / "ra_tofacitinib_dose_and_taper.yaml"


def test_settings_change_values_at_any_depth():
    sc = load_scenario(DOSE, ["horizon_years=2", "arms.tofacitinib_10mg.treatment.dose_mg=5", "cohort.female=0.5"])
    assert sc.horizon_years == 2 and sc.cohort.female == 0.5
    assert next(a for a in sc.arms if a.name == "tofacitinib_10mg").treatment.dose_mg == 5
    assert "# --set horizon_years=2" in sc.text


def test_values_are_yaml_and_lists_take_indices():
    data = {"a": [{"b": 1}, {"b": 2}], "c": {}}
    out = apply_settings(data, ["a.1.b=true", "c.d=[1, 2]", "e=1e5"])
    assert out == {"a": [{"b": 1}, {"b": True}], "c": {"d": [1, 2]}, "e": 100000.0}
    assert data == {"a": [{"b": 1}, {"b": 2}], "c": {}}          # the parsed file is not changed


@pytest.mark.parametrize("setting,words", [
    ("nokey", "give key.path=value"), ("=3", "give key.path=value"), ("a..b=1", "give key.path=value"),
    ("horizon_years.x=1", "'horizon_years' is not a mapping"), ("name=[unclosed", "not valid YAML"),
])
def test_bad_settings_are_one_line_errors(setting, words):
    with pytest.raises(ScenarioError, match=words.replace("[", r"\[")):
        apply_settings({"horizon_years": 5, "name": "x"}, [setting])


def test_set_on_the_command_line(tmp_path, capsys):
    assert main(["validate", str(DOSE), "--set", "horizon_years=abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "horizon_years" in err[0] and "'abc'" in err[0]
    out = tmp_path / "out"
    assert main(["run", str(DOSE), "--n-patients", "200", "--out", str(out), "--set", "horizon_years=1"]) == 0
    meta = pq.read_schema(next((out / "summary").rglob("*.parquet"))).metadata
    assert b"# --set horizon_years=1" in meta[b"jaksim.scenario_yaml"]
    assert meta[b"jaksim.horizon_years"] == b"1.0"
