"""``jaksim export`` (CSV, XLSX, dampack/BCEA matrices) and the Python API's tables (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

import jaksim
from helpers import MINIMAL, write_scenario
from jaksim.cli import main
from jaksim.errors import OutputError
from jaksim.output import export as export_mod

openpyxl = pytest.importorskip("openpyxl")

RUN_TABLES = ["summary", "contrasts", "economics", "cycles", "events", "patients"]
PSA_TABLES = ["summary", "cycles", "outcomes", "parameters", "parameter_info"]
MATRICES = ["psa_cost", "psa_effectiveness", "psa_parameters"]


def _parquet(folder, name) -> pd.DataFrame:
    path = folder / name
    return pd.read_parquet(path if path.is_dir() else path.with_suffix(".parquet"))


def test_csv_of_a_run_has_every_table_with_its_arm(vaccination_run, tmp_path):
    assert main(["export", str(vaccination_run), "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    assert sorted(p.stem for p in (tmp_path / "csv").iterdir()) == sorted(RUN_TABLES)
    for name in RUN_TABLES:
        csv = pd.read_csv(tmp_path / "csv" / f"{name}.csv")
        parquet = _parquet(vaccination_run, name)
        assert len(csv) == len(parquet) > 0, name
        assert csv.columns[0] == "arm" and set(csv.columns) == set(parquet.columns), name
    summary = pd.read_csv(tmp_path / "csv" / "summary.csv").sort_values(["arm", "type"]).reset_index(drop=True)
    expected = _parquet(vaccination_run, "summary").astype({"arm": str})
    expected = expected.sort_values(["arm", "type"]).reset_index(drop=True)
    assert (summary.events == expected.events).all()
    assert np.array_equal(summary.person_years.to_numpy(), expected.person_years.to_numpy())   # round trip


def test_xlsx_of_a_run_has_a_sheet_per_table(vaccination_run, tmp_path):
    paths = jaksim.export(vaccination_run, "xlsx", out=tmp_path)
    assert paths == [tmp_path / "ra_tofacitinib_zoster_vaccination.xlsx"]
    book = openpyxl.load_workbook(paths[0], read_only=True)
    assert book.sheetnames == ["about", *RUN_TABLES]
    about = dict(list(book["about"].iter_rows(values_only=True))[1:])
    assert about["scenario"] == "ra_tofacitinib_zoster_vaccination" and about["cycle_length_years"] == 0.25
    for name in RUN_TABLES:
        rows = list(book[name].iter_rows(values_only=True))
        parquet = _parquet(vaccination_run, name)
        assert len(rows) - 1 == len(parquet), name
        assert rows[0][0] == "arm" and set(rows[0]) == set(parquet.columns), name
    contrasts = list(book["contrasts"].iter_rows(values_only=True))
    header = contrasts[0]
    for row in contrasts[1:]:            # NaN (e.g. NNV without vaccinees) is an empty cell
        assert all(v is None or isinstance(v, (int, float, str)) for v in row)
        assert row[header.index("arm")] != "no_vaccination"
    book.close()


def test_psa_export_adds_dampack_and_bcea_matrices(vaccination_psa, tmp_path):
    paths = jaksim.export(vaccination_psa, "csv", out=tmp_path)
    assert sorted(p.stem for p in paths) == sorted(PSA_TABLES + MATRICES)
    outcomes = _parquet(vaccination_psa, "outcomes")
    params = _parquet(vaccination_psa, "parameters").sort_values("draw")
    arms = list(dict.fromkeys(outcomes.arm))
    for name, col in (("psa_cost", "costs"), ("psa_effectiveness", "qalys")):
        wide = pd.read_csv(tmp_path / f"{name}.csv")
        assert list(wide.columns) == arms and len(wide) == 3           # draws × strategies
        expected = outcomes.pivot(index="draw", columns="arm", values=col)[arms]
        assert np.array_equal(wide.to_numpy(), expected.to_numpy())
    p = pd.read_csv(tmp_path / "psa_parameters.csv")
    assert list(p.columns) == [c for c in params.columns if c != "draw"] and len(p) == 3
    assert np.array_equal(p.to_numpy(), params.drop(columns="draw").to_numpy())
    book = openpyxl.load_workbook(jaksim.export(vaccination_psa, "xlsx", out=tmp_path / "x")[0], read_only=True)
    assert book.sheetnames == ["about", *PSA_TABLES]
    book.close()


def test_export_errors(vaccination_run, tmp_path, capsys, monkeypatch):
    assert main(["export", str(vaccination_run), "--format", "ods", "--out", str(tmp_path)]) == 2
    assert "--format 'ods' is not allowed; allowed: csv, xlsx" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--format", "csv"]) == 2
    assert "is not a jaksim results folder" in capsys.readouterr().err
    assert main(["export", str(vaccination_run), "--tables", "summary,nosuch", "--out", str(tmp_path)]) == 2
    assert "--tables: 'nosuch' is not a table" in capsys.readouterr().err
    assert main(["export", str(vaccination_run), "--tables", "summary", "--out", str(tmp_path / "s")]) == 0
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["summary.csv"]
    monkeypatch.setattr(export_mod, "XLSX_MAX_ROWS", 100)
    with pytest.raises(OutputError, match="more than an Excel sheet holds"):
        jaksim.export(vaccination_run, "xlsx", out=tmp_path / "big")


def test_export_inside_a_run_folder_does_not_block_overwrite(tmp_path):
    path = write_scenario(tmp_path, MINIMAL)
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--n-patients", "200"]) == 0
    assert main(["export", str(out)]) == 0
    assert (out / "export" / "summary.csv").is_file()
    assert main(["run", str(path), "--out", str(out), "--n-patients", "200", "--overwrite"]) == 0


def test_api_run_returns_every_table(tmp_path):
    path = write_scenario(tmp_path, MINIMAL + "arms:\n  a: {}\n  b:\n    infections: {infection_a: {rate_per_100py: 9.0}}\n")
    res = jaksim.run(path, n_patients=300, cycle_length=0.5)
    assert res.economics is None and res.vaccination is not None and set(res.vaccination) == {"a", "b"}
    assert isinstance(res.contrasts, pa.Table) and set(res.contrasts.column("arm").to_pylist()) == {"b"}
    assert isinstance(res.cycles, pa.Table) and res.cycles.num_rows == 2 * 4 * 3   # arms × cycles × outcomes
    single = jaksim.run(write_scenario(tmp_path / "one", MINIMAL), n_patients=100)
    assert single.contrasts is None and single.cycles is None and single.economics is None


def test_api_run_and_psa_with_economics(tmp_path):
    from conftest import VACCINATION
    res = jaksim.run(VACCINATION, n_patients=300, threads=1)
    assert res.economics is not None and res.economics.num_rows == 6
    assert res.economics.column("arm").to_pylist()[0] == "no_vaccination"
    assert res.vaccination["no_vaccination"]["n_vaccinated"] == 0
    psa = jaksim.psa(VACCINATION, draws=2, n_patients=200, threads=1, out=tmp_path / "psa")
    assert psa.outcomes.num_rows == 2 * 6 and psa.parameters.num_rows == 2 and psa.one_way is None
    assert (tmp_path / "psa" / "outcomes.parquet").is_file()
    again = jaksim.psa(jaksim.load_scenario(VACCINATION), draws=[1], n_patients=200, threads=1)
    assert again.parameters.column("draw").to_pylist() == [1]
    assert again.outcomes.filter(pa.compute.equal(again.outcomes["draw"], 1)).equals(
        psa.outcomes.filter(pa.compute.equal(psa.outcomes["draw"], 1)))
