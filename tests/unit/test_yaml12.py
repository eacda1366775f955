"""YAML means what it says (issue 17, finding 3): scalars are read with YAML 1.2 core-schema
rules, and true/false are never counts or numbers."""

from __future__ import annotations

import pytest

from helpers import MINIMAL, replace
from jaksim.errors import ScenarioError
from jaksim.scenario.load import scenario_from_text
from jaksim.scenario.yamlfile import load_yaml_text


@pytest.mark.parametrize("text, value", [
    ("1:30", "1:30"),            # YAML 1.1: sexagesimal 90
    ("012345", 12345),           # YAML 1.1: octal 5349
    ("0o17", 15), ("0x1F", 31), ("-3", -3), ("1e5", 100000.0), ("2.5", 2.5),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"),       # YAML 1.1: booleans
    ("true", True), ("False", False), ("~", None),
])
def test_scalars_are_read_as_yaml_1_2_reads_them(text, value):
    data, _ = load_yaml_text(f"key: {text}\n")
    assert data["key"] == value and type(data["key"]) is type(value)


def test_keys_no_and_yes_stay_strings():
    data, _ = load_yaml_text("no: 1\nyes: 2\n")
    assert data == {"no": 1, "yes": 2}


def test_seed_with_a_leading_zero_is_decimal():
    assert scenario_from_text(replace(MINIMAL, "seed: 12345", "seed: 012345")).seed == 12345


@pytest.mark.parametrize("old, new, path", [
    ("n_patients: 2000", "n_patients: true", "n_patients"),
    ("horizon_years: 2", "horizon_years: false", "horizon_years"),
    ("horizon_years: 2", "horizon_years: 1:30", "horizon_years"),
    ("  female: 0.5", "  female: yes", "cohort.female"),
])
def test_booleans_and_sexagesimals_are_not_numbers(old, new, path):
    with pytest.raises(ScenarioError) as info:
        scenario_from_text(replace(MINIMAL, old, new))
    message = str(info.value)
    assert f": {path}: " in message and "\n" not in message


def test_truncated_normal_without_mass_in_its_window_is_refused():
    text = replace(MINIMAL, "mean_years: 50, sd_years: 10", "mean_years: 5, sd_years: 1")
    with pytest.raises(ScenarioError, match=r"cohort\.age\.mean_years: .* of its mass in \[18, 90\]"):
        scenario_from_text(text)
    # a window in a far tail that still holds some mass is a valid (if unusual) cohort
    scenario_from_text(replace(MINIMAL, "mean_years: 50, sd_years: 10", "mean_years: 5, sd_years: 3"))
