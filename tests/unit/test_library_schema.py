"""A broken library file is a one-line ``file:line: key.path: problem`` error with exit code 2.

Each case copies the package's library folder, breaks one file (a typo'd key, a wrong type,
a missing field, a bad reference), and loads it through ``JAKSIM_LIBRARY`` the way a user
would: ``jaksim validate scenarios/ra_tofacitinib_5mg.yaml``. The error must name the file,
the line of the broken entry and its key path, in one line, without a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import jaksim
from jaksim.cli import main
from jaksim.errors import LibraryError
from jaksim.library import ENV_VAR, library_root, load_library

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "ra_tofacitinib_5mg.yaml"
CSV = "life_tables/us_2019.csv"
PACKAGE_LIBRARY = Path(jaksim.__file__).parent / "library"


@dataclass(frozen=True)
class Case:
    file: str               # library file to break, relative to the library folder
    old: str                # text replaced (its first occurrence)
    new: str
    path: str               # key path (or CSV column) the error must name
    words: tuple[str, ...]  # what the message must say
    anchor: str             # text of the broken file on the line the error must name


CASES = {
    # parameters.yaml
    "parameters_typo_key": Case(
        "parameters.yaml", "    covariate: chronic_lung_disease\n    hazard_ratio: 2.13",
        "    covariat: chronic_lung_disease\n    hazard_ratio: 2.13", "hazard_ratios.0.covariat",
        ("unknown key 'covariat'", "did you mean 'covariate'?"), "covariat: chronic_lung_disease"),
    "parameters_wrong_type": Case(
        "parameters.yaml", "    rate_per_100py: 2.8\n", '    rate_per_100py: "2.8"\n', "rates.0.rate_per_100py",
        ("must be a valid number", "(got '2.8')"), 'rate_per_100py: "2.8"'),
    "parameters_missing_field": Case(
        "parameters.yaml", "    hazard_ratio: 2.13\n", "", "hazard_ratios.0.hazard_ratio",
        ("missing required key 'hazard_ratio'",), "- type: serious_infection\n    covariate: chronic_lung_disease"),
    "parameters_unknown_type": Case(
        "parameters.yaml", "    type: serious_infection\n    rate_per_100py: 2.8",
        "    type: serious_infektion\n    rate_per_100py: 2.8", "rates.0.type",
        ("unknown infection type", "'serious_infektion'"), "serious_infektion"),
    "parameters_bad_status": Case(
        "parameters.yaml", "    status: read\n", "    status: measured\n", "rates.0.status",
        ("'read', 'computed' or 'assumption'", "(got 'measured')"), "status: measured"),
    "parameters_duplicate_key": Case(
        "parameters.yaml", "    hazard_ratio: 2.13\n", "    hazard_ratio: 2.13\n    hazard_ratio: 2.2\n",
        "hazard_ratios.0.hazard_ratio", ("duplicate key 'hazard_ratio'",), "hazard_ratio: 2.2"),
    "profile_multipliers_mismatch": Case(
        "parameters.yaml", "    multipliers: [1.0, 0.626]\n", "    multipliers: [1.0, 0.626, 0.5]\n",
        "time_on_treatment_profiles.3", ("multipliers needs one value more than edges_years", "(got 3 and 1"),
        "  - drug: tofacitinib\n    type: serious_infection\n    indication: ra\n    profile: piecewise"),
    "profile_unknown_drug": Case(
        "parameters.yaml", "  - drug: tofacitinib\n    type: herpes_zoster\n    indication: ra\n    profile: piecewise",
        "  - drug: tofacitinb\n    type: herpes_zoster\n    indication: ra\n    profile: piecewise",
        "time_on_treatment_profiles.4.drug", ("unknown drug", "'tofacitinb'"), "drug: tofacitinb"),
    # source_populations.yaml
    "populations_typo_key": Case(
        "source_populations.yaml", "    age_mean_years: 52.1\n", "    age_mean_yeras: 52.1\n",
        "source_populations.0.age_mean_yeras", ("unknown key 'age_mean_yeras'", "did you mean 'age_mean_years'?"),
        "age_mean_yeras"),
    "populations_wrong_type": Case(
        "source_populations.yaml", "    female: 0.826\n", "    female: 82.6%\n", "source_populations.0.female",
        ("must be a valid number", "(got '82.6%')"), "female: 82.6%"),
    "populations_missing_field": Case(
        "source_populations.yaml", "  - id: tofacitinib_ra_integrated_2020_all\n    applies_to:\n",
        "  - applies_to:\n", "source_populations.0.id", ("missing required key 'id'",), "  - applies_to:\n"),
    # vaccines.yaml
    "vaccines_typo_key": Case(
        "vaccines.yaml", "    step_years: 0.25\n", "    step_year: 0.25\n", "vaccines.recombinant.step_year",
        ("unknown key 'step_year'", "did you mean 'step_years'?"), "step_year: 0.25"),
    "vaccines_wrong_type": Case(
        "vaccines.yaml", "    doses: 2\n", "    doses: two\n", "vaccines.recombinant.doses",
        ("must be a valid integer", "(got 'two')"), "doses: two"),
    "vaccines_missing_field": Case(
        "vaccines.yaml", "        anchor_follow_up_years: 3.2\n", "",
        "vaccines.recombinant.age_groups.0.anchor_follow_up_years",
        ("missing required key 'anchor_follow_up_years'",), "- from_age_years: 0\n        anchor_efficacy: 0.972"),
    # economics.yaml
    "economics_typo_key": Case(
        "economics.yaml", "        hospitalised: {value: 3000,", "        hospitalisd: {value: 3000,",
        "currencies.GBP.event_costs.herpes_zoster.hospitalisd", ("unknown key 'hospitalisd'",
                                                                 "did you mean 'hospitalised'?"),
        "hospitalisd: {value: 3000,"),
    "economics_wrong_type": Case(
        "economics.yaml", "    price_year: 2023\n", "    price_year: 2023a\n", "currencies.GBP.price_year",
        ("must be a valid integer", "(got '2023a')"), "price_year: 2023a"),
    "economics_missing_field": Case(
        "economics.yaml", "{value: 3000, ci95: [1500, 5000], distribution: gamma, status: assumption, ",
        "{value: 3000, ci95: [1500, 5000], distribution: gamma, ",
        "currencies.GBP.event_costs.herpes_zoster.hospitalised.status", ("missing required key 'status'",),
        "hospitalised: {value: 3000,"),
    # life table CSV
    "life_table_typo_column": Case(
        CSV, "age,male_qx,female_qx", "age,mal_qx,female_qx", "male_qx",
        ("missing column 'male_qx'", "(got age, mal_qx, female_qx)"), "age,mal_qx"),
    "life_table_wrong_type": Case(
        CSV, "18,0.000809,0.000319", "18,0.000809,O.000319", "female_qx",
        ("must be a number", "(got 'O.000319')"), "18,0.000809,O.000319"),
    "life_table_missing_field": Case(
        CSV, "19,0.00094,0.00036\n", "19,0.00094\n", "female_qx", ("missing value",), "19,0.00094\n"),
    "life_table_out_of_range": Case(
        CSV, "20,0.001077,0.000404", "20,1.5,0.000404", "male_qx", ("must lie in [0, 1]", "(got 1.5)"),
        "20,1.5,"),
}


def _line_of(text: str, anchor: str) -> int:
    assert anchor in text, anchor
    return text[:text.index(anchor)].count("\n") + 1


def broken_library(tmp_path: Path, case: Case) -> tuple[Path, int]:
    """A copy of the package's library with one edit; the broken file and the line to be named."""
    root = tmp_path / "library"
    shutil.copytree(PACKAGE_LIBRARY, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = root / case.file
    text = path.read_text(encoding="utf-8")
    assert case.old in text, f"{case.file} no longer contains {case.old!r}; update the case"
    text = text.replace(case.old, case.new, 1)
    path.write_text(text, encoding="utf-8")
    return path, _line_of(text, case.anchor)


def check_message(message: str, case: Case, path: Path, line: int) -> None:
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert message.startswith(f"{path}:{line}: {case.path}: "), message
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.fixture(autouse=True)
def _package_library(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_the_shipped_library_is_valid():
    lib = load_library()
    assert lib.root == library_root() == PACKAGE_LIBRARY and lib.data["rates"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_file_is_one_located_line(name, tmp_path):
    case = CASES[name]
    path, line = broken_library(tmp_path, case)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_path / "library")
    check_message(str(info.value), case, path, line)


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_with_a_broken_library_exits_2(name, tmp_path, monkeypatch, capsys):
    case = CASES[name]
    path, line = broken_library(tmp_path, case)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "library"))
    rc = main(["validate", str(SCENARIO)])
    captured = capsys.readouterr()
    assert rc == 2, captured.out + captured.err
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    check_message(captured.err[len("error: "):], case, path, line)
    assert "internal error" not in captured.err


def test_real_process_exit_code_and_no_traceback(tmp_path):
    case = CASES["parameters_typo_key"]
    path, line = broken_library(tmp_path, case)
    script = Path(sys.executable).with_name("jaksim")
    argv = [str(script)] if script.is_file() else [sys.executable, "-m", "jaksim.cli"]
    env = {**os.environ, ENV_VAR: str(tmp_path / "library")}
    proc = subprocess.run(argv + ["validate", str(SCENARIO)], check=False, capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.startswith("error: ")
    check_message(proc.stderr[len("error: "):], case, path, line)


def test_library_folder_that_does_not_exist(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    assert main(["validate", str(SCENARIO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {ENV_VAR} must name a folder") and err.count("\n") == 1, err


def test_a_copy_of_the_library_gives_the_same_values(tmp_path, monkeypatch):
    """Pointing JAKSIM_LIBRARY at an unchanged copy changes nothing but the folder."""
    root = tmp_path / "library"
    shutil.copytree(PACKAGE_LIBRARY, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv(ENV_VAR, str(root))
    copy = load_library()
    assert copy.root == root and copy.data == load_library(PACKAGE_LIBRARY).data
