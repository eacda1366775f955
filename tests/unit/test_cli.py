"""Command line contract: ``jaksim run`` / ``validate`` / ``params`` (in process via ``cli.main``)."""

from __future__ import annotations

import json
from pathlib import Path

import numba
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from helpers import MINIMAL, leftovers, replace, write_scenario
from jaksim.cli import main
from jaksim.run import chunks as chunk_loop

TWO_ARMS = MINIMAL + "arms:\n  low: {}\n  high:\n    infections: {infection_a: {rate_per_100py: 20.0}}\n"


def run_ok(capsys, *argv) -> str:
    rc = main(["run", *map(str, argv)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return captured.out


def run_fails(capsys, *argv) -> str:
    rc = main(list(map(str, argv)))
    captured = capsys.readouterr()
    assert rc == 2, captured.out + captured.err
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def summary_rows(out: Path) -> list[dict]:
    table = ds.dataset(out / "summary", format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda r: (r["arm"], r["type"]))


# ------------------------------------------------------------------------------ run
def test_run_prints_summary_table(tmp_path, capsys):
    scenario = write_scenario(tmp_path, TWO_ARMS)
    out = tmp_path / "out"
    text = run_ok(capsys, scenario, "--out", out)
    for header in ("arm", "type", "events", "person-years", "rate/100 PY (95% CI)"):
        assert header in text
    assert "minimal: 2,000 patients × 2 arm(s), 2 years, seed 12345" in text
    assert f"Results: {out}/" in text
    rows = summary_rows(out)
    assert {r["arm"] for r in rows} == {"low", "high"}
    assert {r["type"] for r in rows} == {"infection_a", "infection_b", "death"}
    lines = text.splitlines()
    for r in rows:
        rate = (f"{r['incidence_rate_per_100py']:.3f} ({r['incidence_rate_ci_lower']:.3f}–"
                f"{r['incidence_rate_ci_upper']:.3f})")
        row = [ln for ln in lines if f" {r['type']} " in ln and rate in ln]
        assert row, f"no table row for {r['arm']}/{r['type']} with {rate}"
        assert f"{r['events']:,}" in row[0] and f"{r['person_years']:,.1f}" in row[0]
    for arm in ("low", "high"):
        assert any(ln.lstrip("│┃| ").startswith(arm) for ln in lines), arm


def test_validate_ok(tmp_path, capsys):
    scenario = write_scenario(tmp_path, TWO_ARMS)
    assert main(["validate", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "arms: low, high" in out and "infection_a, infection_b" in out


def test_non_empty_out_refused_without_overwrite(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    line = run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100)
    assert str(out) in line and "not empty" in line and "--overwrite" in line
    assert snapshot(out) == {"notes.txt": b"mine"}
    assert leftovers(out) == [out / "notes.txt"]


def test_overwrite_refuses_folder_without_jaksim_result(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "data.parquet").write_bytes(b"precious")
    line = run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100, "--overwrite")
    assert "jaksim.json" in line and "refusing" in line
    assert snapshot(out) == {"sub/data.parquet": b"precious"}
    assert not list(tmp_path.glob(".out.jaksim-*"))


def test_existing_result_refused_then_replaced_with_overwrite(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    run_ok(capsys, scenario, "--out", out, "--n-patients", 100, "--seed", 1)
    first = snapshot(out)
    run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100, "--seed", 2)
    assert snapshot(out) == first
    run_ok(capsys, scenario, "--out", out, "--n-patients", 200, "--seed", 2, "--overwrite")
    manifest = json.loads((out / "jaksim.json").read_text())
    assert (manifest["seed"], manifest["n_patients"]) == (2, 200)
    assert snapshot(out) != first
    assert not list(tmp_path.glob(".out.jaksim-*"))


def test_out_that_is_a_file_refused(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    out.write_text("x")
    line = run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100)
    assert "is a file" in line
    assert out.read_text() == "x"


def test_default_out_is_results_scenario_name_in_cwd(tmp_path, monkeypatch, capsys):
    scenario = write_scenario(tmp_path / "scenarios", MINIMAL)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    text = run_ok(capsys, scenario, "--n-patients", 100)
    result = work / "results" / "minimal"
    assert (result / "jaksim.json").is_file()
    assert sorted(p.name for p in result.iterdir()) == ["events", "jaksim.json", "patients", "summary"]
    assert "Results: results/minimal/" in text
    assert sorted(p.name for p in (work / "results").iterdir()) == ["minimal"]


# ------------------------------------------------------------------------ overrides
def test_n_patients_and_seed_override(tmp_path, capsys):
    scenario = write_scenario(tmp_path, TWO_ARMS)
    out = tmp_path / "out"
    text = run_ok(capsys, scenario, "--out", out, "--n-patients", 321, "--seed", 99)
    assert "321 patients × 2 arm(s)" in text and "seed 99" in text
    manifest = json.loads((out / "jaksim.json").read_text())
    assert (manifest["n_patients"], manifest["seed"]) == (321, 99)
    patients = ds.dataset(out / "patients", partitioning="hive").to_table()
    assert patients.num_rows == 2 * 321
    for f in out.rglob("*.parquet"):
        meta = pq.read_schema(f).metadata
        assert meta[b"jaksim.seed"] == b"99" and meta[b"jaksim.n_patients"] == b"321"


@pytest.mark.parametrize("written", ["300", "3e2", "3E2", "3.0e2", "3_00"])
def test_counts_written_as_in_scenario_files(tmp_path, capsys, written):
    """--n-patients takes what a scenario file takes (``1e5``, ``100_000``), not only digits."""
    scenario = write_scenario(tmp_path)
    text = run_ok(capsys, scenario, "--out", tmp_path / "o", "--n-patients", written, "--chunk-size", "1e2")
    assert "300 patients" in text


@pytest.mark.parametrize("value,problem", [("2.5", "not a whole number"), ("1e5x", "not a number"),
                                           ("many", "not a number")])
def test_count_that_is_not_a_whole_number_refused(tmp_path, capsys, value, problem):
    scenario = write_scenario(tmp_path)
    rc = main(["run", str(scenario), "--out", str(tmp_path / "o"), "--n-patients", value])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "--n-patients" in err and value in err and problem in err
    assert leftovers(tmp_path / "o") == []


def test_seed_changes_results(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    run_ok(capsys, scenario, "--out", tmp_path / "s1", "--n-patients", 500, "--seed", 1)
    run_ok(capsys, scenario, "--out", tmp_path / "s2", "--n-patients", 500, "--seed", 2)
    assert summary_rows(tmp_path / "s1") != summary_rows(tmp_path / "s2")


def test_chunk_size_and_threads_override(tmp_path, capsys, monkeypatch):
    scenario = write_scenario(tmp_path)
    chunks: list[int] = []
    real = chunk_loop.simulate_chunk

    def spy(model, arm, cohort, *args, **kwargs):
        chunks.append(len(cohort))
        return real(model, arm, cohort, *args, **kwargs)

    monkeypatch.setattr(chunk_loop, "simulate_chunk", spy)
    try:
        run_ok(capsys, scenario, "--out", tmp_path / "small", "--n-patients", 300, "--chunk-size", 64,
               "--threads", 1)
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert chunks == [64, 64, 64, 64, 44]
    chunks.clear()
    run_ok(capsys, scenario, "--out", tmp_path / "big", "--n-patients", 300)
    assert chunks == [300]
    # neither option changes the numbers
    assert summary_rows(tmp_path / "small") == summary_rows(tmp_path / "big")


@pytest.mark.parametrize("option,value,expected", [
    ("--n-patients", "0", "n_patients"),
    ("--seed", "-1", "seed"),
    ("--chunk-size", "0", "--chunk-size 0 is out of range"),
    ("--threads", "0", "--threads 0 is out of range"),
])
def test_bad_override_refused(tmp_path, capsys, option, value, expected):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    line = run_fails(capsys, "run", scenario, "--out", out, option, value)
    assert expected in line and value in line
    assert leftovers(out) == []


# ----------------------------------------------------------------- failure mid-run
def _fail_on_second_chunk(monkeypatch, exc: BaseException):
    real = chunk_loop.simulate_chunk
    calls = []

    def flaky(model, arm, cohort, *args, **kwargs):
        calls.append(len(cohort))
        if len(calls) > 1:
            raise exc
        return real(model, arm, cohort, *args, **kwargs)

    monkeypatch.setattr(chunk_loop, "simulate_chunk", flaky)


def test_failed_run_leaves_nothing(tmp_path, capsys, monkeypatch):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    _fail_on_second_chunk(monkeypatch, RuntimeError("boom"))
    rc = main(["run", str(scenario), "--out", str(out), "--n-patients", "300", "--chunk-size", "100"])
    err = capsys.readouterr().err
    assert rc == 1 and "internal error: RuntimeError: boom" in err and "Traceback" not in err
    assert leftovers(out) == []


def test_failed_overwrite_keeps_previous_result(tmp_path, capsys, monkeypatch):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    run_ok(capsys, scenario, "--out", out, "--n-patients", 100)
    before = snapshot(out)
    _fail_on_second_chunk(monkeypatch, KeyboardInterrupt())
    rc = main(["run", str(scenario), "--out", str(out), "--n-patients", "300", "--chunk-size", "100",
               "--overwrite"])
    assert rc == 130 and "nothing was written" in capsys.readouterr().err
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".out.jaksim-*"))


# ---------------------------------------------------------------------------- debug
def test_debug_shows_traceback(tmp_path, capsys):
    scenario = write_scenario(tmp_path, replace(MINIMAL, "dose_mg: 5", "dose_mg: 7"))
    assert main(["validate", str(scenario), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ScenarioError" in err
    assert err.strip().splitlines()[-1].startswith(f"error: {scenario}:")


def test_no_traceback_without_debug(tmp_path, capsys):
    scenario = write_scenario(tmp_path, replace(MINIMAL, "dose_mg: 5", "dose_mg: 7"))
    line = run_fails(capsys, "run", scenario, "--out", tmp_path / "out")
    assert "7 mg" in line


# --------------------------------------------------------------------------- params
def test_params_lists_rates_with_sources(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    for fragment in ("drug", "dose mg", "type", "rate", "source", "tofacitinib", "baricitinib",
                     "serious_infection", "herpes_zoster", "doi:", "Cohen"):
        assert fragment in out, fragment


@pytest.mark.parametrize("section", ["rates", "relative_effects"])
def test_params_filters_by_drug_and_type(capsys, section):
    assert main(["params", "--section", section, "--drug", "baricitinib", "--type", "herpes_zoster"]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if "herpes_zoster" in ln]
    assert rows and all("baricitinib" in ln for ln in rows)
    assert "serious_infection" not in out


def test_params_lists_every_section(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    for title in ("Baseline risk on the reference treatment", "Relative effects", "Programme rates",
                  "Zoster vaccines", "Economics"):
        assert title in out, title
    assert "ORAL Surveillance" in out or "oral_surveillance" in out


def test_params_section_is_checked(capsys):
    assert main(["params", "--section", "nosuch"]) == 2
    assert "allowed: baselines, relative_effects, rates, profiles, frailty, screening, serostatus, vaccines, economics" in capsys.readouterr().err


@pytest.mark.parametrize("argv,expected,allowed", [
    (["params", "--drug", "nosuch"], "--drug 'nosuch' is not in the library; allowed: ", "tofacitinib"),
    (["params", "--type", "nosuch"], "--type 'nosuch' is not in the library; allowed: ", "herpes_zoster"),
])
def test_params_unknown_filter_exits_2(capsys, argv, expected, allowed):
    line = run_fails(capsys, *argv)
    assert expected in line and allowed in line


def test_no_arguments_shows_help(capsys):
    rc = main([])
    captured = capsys.readouterr()
    assert rc in (0, 2)
    assert "run" in captured.out + captured.err and "validate" in captured.out + captured.err


@pytest.mark.parametrize("plant", [
    lambda out: (out / "jaksim.json").write_text(""),                                   # empty manifest
    lambda out: (out / "jaksim.json").write_text('{"hello": 1}'),                        # not jaksim's
    lambda out: (out / "jaksim.json").write_text("[1, 2"),                               # not JSON
])
def test_overwrite_needs_a_manifest_that_is_jaksims(tmp_path, capsys, plant):
    """Issue 17, finding 4: a planted jaksim.json does not make a folder deletable."""
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    (out / "thesis").mkdir(parents=True)
    (out / "thesis" / "chapter1.tex").write_bytes(b"precious")
    plant(out)
    line = run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100, "--overwrite")
    assert "not a finished jaksim result" in line and "refusing" in line
    assert snapshot(out)["thesis/chapter1.tex"] == b"precious"


def test_overwrite_keeps_a_result_folder_holding_other_files(tmp_path, capsys):
    """A real result with a file the user added next to it is not replaced (the file would go)."""
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    run_ok(capsys, scenario, "--out", out, "--n-patients", 100)
    (out / "notes.txt").write_text("my notes")
    line = run_fails(capsys, "run", scenario, "--out", out, "--n-patients", 100, "--overwrite")
    assert "'notes.txt', which jaksim did not write" in line
    assert (out / "notes.txt").read_text() == "my notes"
