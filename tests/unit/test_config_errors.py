"""Broken scenarios: one line on stderr (file:line: key path: problem, bad value, what is allowed),
exit code 2, no traceback, and nothing written to --out.

Each case is a small edit of ``helpers.MINIMAL``. Most run in process through
``jaksim.cli.main``; a few run the real ``jaksim`` console script in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import MINIMAL, leftovers, line_of, replace, write_scenario
from jaksim.cli import main

AGE_AND_SEX = ("  age: {distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, "
               "max_years: 90}\n  female: 0.5")
ARMS = "arms:\n  a: {}\n  b:\n"


@dataclass(frozen=True)
class Case:
    """A broken scenario and what its one-line error must say."""

    text: str                      # scenario YAML
    line: str | int | None         # fragment of the offending line (or its number; None: no line)
    path: str | None               # key path as the user wrote it (None: none applies)
    bad: tuple[str, ...]           # fragments naming the bad value
    allowed: tuple[str, ...]       # fragments saying what is allowed
    files: tuple[tuple[str, str], ...] = ()  # extra files beside the scenario (cohort tables)

    def write(self, directory: Path) -> Path:
        for name, content in self.files:
            (directory / name).write_text(content, encoding="utf-8")
        return write_scenario(directory, self.text)

    def line_number(self) -> int | None:
        if self.line is None or isinstance(self.line, int):
            return self.line
        return line_of(self.text, self.line)


def cohort_file_case(csv_text: str, bad: tuple[str, ...], allowed: tuple[str, ...]) -> Case:
    text = replace(MINIMAL, AGE_AND_SEX, "  from_file: patients.csv")
    return Case(text, "from_file:", "cohort.from_file", ("patients.csv",) + bad, allowed,
                files=(("patients.csv", csv_text),))


CASES: dict[str, Case] = {
    "malformed_yaml": Case(
        replace(MINIMAL, "  female: 0.5", "  female: 0.5: 0.6"), "female: 0.5: 0.6", None,
        ("malformed YAML", "mapping values are not allowed"), ("check indentation, colons and quotes",)),
    "malformed_yaml_tab": Case(
        replace(MINIMAL, "  female: 0.5", "\tfemale: 0.5"), "female: 0.5", None,
        ("malformed YAML", "'\\t'"), ("check indentation",)),
    "duplicate_key": Case(
        replace(MINIMAL, "seed: 12345", "seed: 12345\nseed: 3"), "seed: 3", "seed",
        ("duplicate key 'seed'", "first given on line 2"), ("give each key once",)),
    "missing_required_key": Case(
        replace(MINIMAL, "seed: 12345\n", ""), 1, "seed",
        ("missing required key 'seed'",), ("required keys here: name, seed, n_patients",)),
    "missing_nested_key": Case(
        replace(MINIMAL, "  dose_mg: 5\n", ""), "treatment:", "treatment.dose_mg",
        ("missing required key 'dose_mg'",), ("drug, dose_mg",)),
    "unknown_top_level_key": Case(
        replace(MINIMAL, "horizon_years: 2", "horizon_years: 2\nhorizon: 3"), "horizon: 3", "horizon",
        ("unknown key 'horizon'",), ("allowed keys here:", "horizon_years", "treatment", "arms")),
    "unknown_nested_key": Case(
        replace(MINIMAL, "  female: 0.5", "  female: 0.5\n  femal: 0.3"), "femal: 0.3", "cohort.femal",
        ("unknown key 'femal'",), ("allowed keys here:", "female", "prior_zoster")),
    "wrong_type_string_for_integer": Case(
        replace(MINIMAL, "n_patients: 2000", "n_patients: many"), "n_patients:", "n_patients",
        ("'many'",), ("valid integer",)),
    "wrong_type_string_for_number": Case(
        replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: five}"), "infection_a:",
        "infections.infection_a.rate_per_100py", ("'five'",), ("valid number",)),
    "negative_rate": Case(
        replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: -5.0}"), "infection_a:",
        "infections.infection_a.rate_per_100py", ("-5.0",), ("greater than or equal to 0",)),
    "probability_above_one": Case(
        replace(MINIMAL, "female: 0.5", "female: 1.5"), "female:", "cohort.female",
        ("1.5",), ("less than or equal to 1",)),
    "unknown_drug": Case(
        replace(MINIMAL, "drug: tofacitinib", "drug: tofacitinab"), "drug:", "treatment.drug",
        ("'tofacitinab'",), ("allowed:", "baricitinib", "tofacitinib", "upadacitinib")),
    "dose_not_in_library": Case(
        replace(MINIMAL, "dose_mg: 5", "dose_mg: 7"), "dose_mg:", "treatment.dose_mg",
        ("7 mg", "tofacitinib"), ("allowed: 5, 10",)),
    "cohort_file_missing": Case(
        replace(MINIMAL, AGE_AND_SEX, "  from_file: nosuch.csv"), "from_file:", "cohort.from_file",
        ("file not found", "nosuch.csv"), (".csv or .parquet",)),
    "cohort_file_non_numeric_age": cohort_file_case(
        "age,sex\n50,F\nold,M\n", ("column 'age'", "row 2", "'old'"), ("between 0 and 120",)),
    "cohort_file_age_out_of_range": cohort_file_case(
        "age,sex\n50,F\n160,M\n", ("column 'age'", "row 2", "160"), ("between 0 and 120",)),
    "cohort_file_bad_sex": cohort_file_case(
        "age,sex\n50,F\n60,X\n", ("column 'sex'", "row 2", "'X'"), ("allowed: f, female, m, male",)),
    "cohort_file_missing_age_column": cohort_file_case(
        "years,sex\n50,F\n60,M\n", ("missing column 'age'", "found: years, sex"), ("years at treatment start",)),
    "arm_overrides_cohort": Case(
        MINIMAL + ARMS + "    cohort: {female: 0.3}\n", "cohort: {female: 0.3}", "arms.b.cohort",
        ("unknown key 'cohort' in an arm",), ("description, treatment, infections, mortality",)),
    "arm_overrides_n_patients": Case(
        MINIMAL + ARMS + "    n_patients: 10\n", "n_patients: 10", "arms.b.n_patients",
        ("unknown key 'n_patients' in an arm",), ("description, treatment, infections, mortality",)),
    "arm_override_bad_dose": Case(
        MINIMAL + ARMS + "    treatment: {dose_mg: 7}\n", "dose_mg: 7", "arms.b.treatment.dose_mg",
        ("7 mg",), ("allowed: 5, 10",)),
    "arm_override_unknown_nested_key": Case(
        MINIMAL + ARMS + "    treatment: {dosis: 7}\n", "dosis: 7", "arms.b.treatment.dosis",
        ("unknown key 'dosis'",), ("drug, dose_mg",)),
    "arm_adds_infection_type": Case(
        MINIMAL + ARMS + "    infections: {infection_c: {rate_per_100py: 1}}\n", "infection_c",
        "arms.b.infections.infection_c", ("'infection_c'",), ("same infection types",)),
    "infection_type_not_in_library_without_rate": Case(
        replace(MINIMAL, "  infection_b: {rate_per_100py: 2.0}", "  infection_b: {}"), "infection_b:",
        "infections.infection_b", ("'infection_b'",), ("rate_per_100py", "serious_infection", "herpes_zoster")),
    "case_fatality_type_not_simulated": Case(
        replace(MINIMAL, "  rate_per_100py: 1.0", "  rate_per_100py: 1.0\n  case_fatality: {infection_c: 0.1}"),
        "case_fatality:", "mortality.case_fatality.infection_c", ("infection_c",),
        ("allowed: infection_a, infection_b",)),
    "frailty_type_not_simulated": Case(
        replace(MINIMAL, "horizon_years: 2\n", "horizon_years: 2\nfrailty:\n  infection_c: {variance: 0.5}\n"),
        "infection_c: {variance", "frailty.infection_c", ("infection_c",), ("allowed: infection_a, infection_b",)),
    "frailty_variance_negative": Case(
        replace(MINIMAL, "horizon_years: 2\n", "horizon_years: 2\nfrailty:\n  infection_a: {variance: -0.5}\n"),
        "infection_a: {variance", "frailty.infection_a.variance", ("-0.5",), ("greater than or equal to 0",)),
    "frailty_unknown_word": Case(
        replace(MINIMAL, "horizon_years: 2\n", "horizon_years: 2\nfrailty: sometimes\n"),
        "frailty: sometimes", "frailty", ("'sometimes'",), ("'none' or 'library'",)),
    "age_band_shares_not_one": Case(
        replace(MINIMAL, "{distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, "
                "max_years: 90}",
                "\n    distribution: bands\n    bands:\n      - {min_years: 18, max_years: 50, share: 0.5}\n"
                "      - {min_years: 50, max_years: 90, share: 0.4}"),
        "    bands:", "cohort.age.bands", ("add up to 0.9",), ("must add up to 1",)),
    "glucocorticoid_shares_over_one": Case(
        replace(MINIMAL, "  female: 0.5", "  female: 0.5\n  glucocorticoid: {below_7_5mg: 0.7, at_least_7_5mg: 0.5}"),
        "glucocorticoid:", "cohort.glucocorticoid", ("got 1.2",), ("must not exceed 1",)),
    "time_on_treatment_not_increasing": Case(
        replace(MINIMAL, "  infection_a: {rate_per_100py: 5.0}",
                "  infection_a:\n    rate_per_100py: 5.0\n    time_on_treatment:\n"
                "      - {until_years: 1, hazard_ratio: 2}\n      - {until_years: 0.5, hazard_ratio: 1.5}"),
        "until_years: 0.5", "infections.infection_a.time_on_treatment.1.until_years",
        ("got 0.5 after 1",), ("strictly increase",)),
    "min_years_not_below_max_years": Case(
        replace(MINIMAL, "min_years: 18, max_years: 90", "min_years: 90, max_years: 18"), "age:",
        "cohort.age.min_years", ("min_years (90)",), ("must be below max_years (18)",)),
    "unknown_life_table": Case(
        replace(MINIMAL, "  rate_per_100py: 1.0", "  life_table: mars_2019"), "life_table:",
        "mortality.life_table", ("'mars_2019'",), ("allowed: germany_2022_2024, uk_2022_2024, us_2019", "CSV file")),
    "life_table_and_rate_both_given": Case(
        replace(MINIMAL, "  rate_per_100py: 1.0", "  rate_per_100py: 1.0\n  life_table: us_2019"),
        "life_table: us_2019", "mortality.life_table", ("'us_2019'", "rate_per_100py 1"),
        ("either life_table or rate_per_100py, not both",)),
    "arm_switches_to_life_table_without_unsetting_rate": Case(
        MINIMAL + ARMS + "    mortality: {life_table: us_2019}\n", "life_table: us_2019", "arms.b.mortality.life_table",
        ("'us_2019'", "rate_per_100py 1"), ("not both", "null")),
    "arms_not_a_mapping": Case(
        MINIMAL + "arms:\n  - a\n  - b\n", "arms:", "arms", ("got list ['a', 'b']",),
        ("mapping of arm name to overrides",)),
    "top_level_not_a_mapping": Case(
        "- name: x\n- seed: 3\n", 1, None, ("got list",), ("must be a YAML mapping with keys name, seed",)),
    "empty_file": Case("", 1, None, ("got an empty file",), ("must be a YAML mapping",)),
    "indication_not_allowed": Case(
        replace(MINIMAL, "  female: 0.5", "  female: 0.5\n  indication: xx"), "indication:", "cohort.indication",
        ("'xx'",), ("'ra', 'uc', 'psa', 'ad' or 'as'",)),
    "unknown_age_distribution": Case(
        replace(MINIMAL, "distribution: truncated_normal", "distribution: normal"), "age:", "cohort.age",
        ("'normal'",), ("'truncated_normal', 'bands'",)),
    "hazard_ratio_not_positive": Case(
        replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: 5.0, hazard_ratios: {female: -1}}"),
        "infection_a:", "infections.infection_a.hazard_ratios.female", ("got -1",), ("greater than or equal to 0.001",)),
    "age_band_min_not_below_max": Case(
        replace(MINIMAL, "{distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, "
                "max_years: 90}",
                "\n    distribution: bands\n    bands:\n      - {min_years: 18, max_years: 50, share: 0.5}\n"
                "      - {min_years: 90, max_years: 50, share: 0.5}"),
        "min_years: 90", "cohort.age.bands.1.min_years", ("min_years (90)",), ("must be below max_years (50)",)),
    "arm_override_bad_list_item": Case(
        MINIMAL + ARMS + "    treatment:\n      glucocorticoid_taper:\n        - {at_weeks: 12, max_band: low}\n",
        "max_band: low", "arms.b.treatment.glucocorticoid_taper.0.max_band", ("'low'",),
        ("'none', 'up_to_5mg', 'over_5_to_10mg', 'over_10mg'",)),
    "horizon_zero": Case(
        replace(MINIMAL, "horizon_years: 2", "horizon_years: 0"), "horizon_years:", "horizon_years",
        ("got 0",), ("greater than 0",)),
}


def expected_prefix(case: Case, scenario: Path) -> str:
    where = f"{scenario}:{case.line_number()}: " if case.line is not None else f"{scenario}: "
    return f"error: {where}{case.path}: " if case.path else f"error: {where}"


def check_one_line_error(err: str, case: Case, scenario: Path) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    line = lines[0]
    assert line.startswith(expected_prefix(case, scenario)), line
    for fragment in case.bad + case.allowed:
        assert fragment in line, f"{fragment!r} missing from: {line}"
    return line


def test_at_least_fifteen_kinds():
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_validate_rejects(name, tmp_path, capsys):
    case = CASES[name]
    scenario = case.write(tmp_path)
    assert main(["validate", str(scenario)]) == 2
    captured = capsys.readouterr()
    check_one_line_error(captured.err, case, scenario)
    assert captured.out == ""


@pytest.mark.parametrize("name", CASES)
def test_run_rejects_and_writes_nothing(name, tmp_path, capsys):
    case = CASES[name]
    scenario = case.write(tmp_path)
    out = tmp_path / "results" / "out"
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "50"]) == 2
    captured = capsys.readouterr()
    check_one_line_error(captured.err, case, scenario)
    assert leftovers(out) == []


def test_run_rejects_and_leaves_existing_empty_out_empty(tmp_path, capsys):
    case = CASES["dose_not_in_library"]
    scenario = case.write(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    check_one_line_error(capsys.readouterr().err, case, scenario)
    assert out.is_dir() and leftovers(out) == []


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_scenario_file(command, tmp_path, capsys):
    missing = tmp_path / "nosuch.yaml"
    out = tmp_path / "out"
    argv = [command, str(missing)] + (["--out", str(out)] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [f"error: file not found: '{missing}'; give the path of a scenario YAML file"]
    assert leftovers(out) == []


def test_api_raises_scenario_error_with_location(tmp_path):
    from jaksim import load_scenario
    from jaksim.errors import ScenarioError
    case = CASES["dose_not_in_library"]
    scenario = case.write(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    exc = info.value
    assert (exc.file, exc.line, exc.path) == (str(scenario), case.line_number(), "treatment.dose_mg")


def test_base_section_error_points_at_base_even_with_arms(tmp_path, capsys):
    """A bad value inherited by every arm is reported where it is written, not as arms.<i>."""
    text = replace(MINIMAL, "dose_mg: 5", "dose_mg: 7") + ARMS + "    description: second\n"
    scenario = write_scenario(tmp_path, text)
    assert main(["validate", str(scenario)]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"error: {scenario}:{line_of(text, 'dose_mg: 7')}: treatment.dose_mg: "), line


# ------------------------------------------------------------------- numbers in YAML
def test_exponent_notation_is_a_number(tmp_path, capsys):
    text = replace(MINIMAL, "n_patients: 2000", "n_patients: 1e5")
    text = replace(text, "{rate_per_100py: 5.0}", "{rate_per_100py: 5e0}")
    scenario = write_scenario(tmp_path, text)
    assert main(["validate", str(scenario)]) == 0
    assert "100,000 patients" in capsys.readouterr().out
    from jaksim import load_scenario
    sc = load_scenario(scenario)
    assert sc.n_patients == 100_000 and isinstance(sc.n_patients, int)
    assert sc.arms[0].infections["infection_a"].rate_per_100py == 5.0


def test_exponent_notation_runs(tmp_path):
    import pyarrow.dataset as ds
    scenario = write_scenario(tmp_path, replace(MINIMAL, "n_patients: 2000", "n_patients: 3e2"))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    assert ds.dataset(out / "patients", partitioning="hive").count_rows() == 300


def test_fractional_n_patients_rejected(tmp_path, capsys):
    text = replace(MINIMAL, "n_patients: 2000", "n_patients: 1.5e0")
    scenario = write_scenario(tmp_path, text)
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {scenario}:{line_of(text, 'n_patients')}: n_patients: ")
    assert "1.5" in err and "integer" in err


# ------------------------------------------------------------------ real processes
def _jaksim() -> list[str]:
    script = Path(sys.executable).with_name("jaksim")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("jaksim")
    return [found] if found else [sys.executable, "-m", "jaksim.cli"]


@pytest.mark.parametrize("name,command", [("unknown_drug", "run"), ("malformed_yaml", "validate"),
                                          ("cohort_file_bad_sex", "run")])
def test_subprocess_exit_code_and_no_traceback(name, command, tmp_path):
    case = CASES[name]
    scenario = case.write(tmp_path)
    out = tmp_path / "out"
    argv = _jaksim() + [command, str(scenario)] + (["--out", str(out)] if command == "run" else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    check_one_line_error(proc.stderr, case, scenario)
    assert proc.stdout == ""
    assert leftovers(out) == []


def test_validate_all_errors_lists_every_problem_with_did_you_mean(tmp_path, capsys):
    """--all-errors: every problem of the file, one line each; a misspelt key is named with the
    nearest allowed key instead of the required key it hides."""
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_5mg.yaml").read_text()
    bad = text.replace("horizon_years: 5", "horizon_yeras: 5").replace("  female: 0.83", "  femle: 0.83")
    assert bad.count("yeras") == 1 and bad.count("femle") == 1
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    assert main(["validate", str(path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1          # one line by default
    assert main(["validate", str(path), "--all-errors"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert any("(did you mean 'horizon_years'?)" in e for e in err)
    assert any("(did you mean 'female'?)" in e for e in err)
