"""Python API: ``jaksim.load_scenario`` and ``jaksim.run`` (same code path and numbers as the CLI)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import jaksim
from helpers import MINIMAL, replace, write_scenario
from jaksim.cli import main
from jaksim.errors import OutputError, ScenarioError
from jaksim.scenario.schema import Scenario

SCENARIO = MINIMAL + "arms:\n  low: {}\n  high:\n    infections: {infection_a: {rate_per_100py: 20.0}}\n"


def sort_key(table: pa.Table, *keys: str) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns (partition ``arm``, ``type``…) decoded, for value comparisons."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


@pytest.fixture
def scenario_path(tmp_path):
    return write_scenario(tmp_path, SCENARIO)


def test_public_names():
    assert {"load_scenario", "run", "__version__"} <= set(jaksim.__all__)


def test_load_scenario(scenario_path):
    sc = jaksim.load_scenario(scenario_path)
    assert isinstance(sc, Scenario)
    assert (sc.name, sc.seed, sc.n_patients, sc.horizon_years) == ("minimal", 12345, 2000, 2.0)
    assert [a.name for a in sc.arms] == ["low", "high"]
    assert sc.arms[1].infections["infection_a"].rate_per_100py == 20.0
    assert sc.arms[1].infections["infection_b"].rate_per_100py == 2.0  # inherited from the base
    assert sc.text == scenario_path.read_text()


def test_load_scenario_checks_library(tmp_path):
    path = write_scenario(tmp_path, replace(MINIMAL, "drug: tofacitinib", "drug: nosuch"))
    with pytest.raises(ScenarioError, match=r"treatment\.drug: unknown drug 'nosuch'; allowed: "):
        jaksim.load_scenario(path)


def test_run_returns_arrow_tables(scenario_path):
    sc = jaksim.load_scenario(scenario_path)
    result = jaksim.run(sc, n_patients=400, seed=3)
    for table in (result.summary, result.events, result.patients):
        assert isinstance(table, pa.Table)
        assert set(table.column("arm").to_pylist()) == {"low", "high"}
    assert result.patients.num_rows == 2 * 400
    assert result.out is None
    df = result.summary.to_pandas()
    assert len(df) == 2 * 3
    assert {"arm", "type", "events", "person_years", "incidence_rate_per_100py",
            "incidence_rate_ci_lower", "incidence_rate_ci_upper"} <= set(df.columns)
    assert set(df["type"]) == {"infection_a", "infection_b", "death"}
    assert (df["n_patients"] == 400).all()
    # the override does not change the loaded scenario
    assert sc.n_patients == 2000 and sc.seed == 12345


def test_run_accepts_a_path_and_is_deterministic(scenario_path):
    a = jaksim.run(str(scenario_path), n_patients=300, seed=5)
    b = jaksim.run(scenario_path, n_patients=300, seed=5)
    assert a.summary.equals(b.summary) and a.events.equals(b.events) and a.patients.equals(b.patients)
    c = jaksim.run(scenario_path, n_patients=300, seed=6)
    assert not a.events.equals(c.events)


def test_same_numbers_as_cli(scenario_path, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["run", str(scenario_path), "--out", str(out), "--n-patients", "500", "--seed", "77"]) == 0
    capsys.readouterr()
    result = jaksim.run(jaksim.load_scenario(scenario_path), n_patients=500, seed=77)
    for name, keys in (("summary", ("arm", "type")), ("events", ("arm", "patient_id", "time_years")),
                       ("patients", ("arm", "patient_id"))):
        cli = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
        api = getattr(result, name)
        assert plain(sort_key(api, *keys)).equals(plain(sort_key(cli, *keys))), name


def test_run_with_out_keeps_dataset(scenario_path, tmp_path):
    out = tmp_path / "kept"
    result = jaksim.run(scenario_path, n_patients=200, seed=1, out=out)
    assert result.out == out and (out / "jaksim.json").is_file()
    on_disk = ds.dataset(out / "summary", format="parquet", partitioning="hive").to_table()
    assert plain(sort_key(on_disk, "arm", "type")).equals(plain(sort_key(result.summary, "arm", "type")))
    with pytest.raises(OutputError):
        jaksim.run(scenario_path, n_patients=200, seed=1, out=out)
    jaksim.run(scenario_path, n_patients=100, seed=1, out=out, overwrite=True)
    assert ds.dataset(out / "patients", partitioning="hive").count_rows() == 2 * 100


def test_bad_override_raises(scenario_path):
    with pytest.raises(ScenarioError, match="n_patients"):
        jaksim.run(scenario_path, n_patients=0)
