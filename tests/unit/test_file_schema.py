"""``jaksim schema``: the JSON Schema of the scenario file accepts every shipped scenario and
rejects broken ones (each also rejected by jaksim's own loader)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from helpers import MINIMAL
from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.scenario.file_schema import file_schema
from jaksim.scenario.load import scenario_from_data
from jaksim.scenario.yamlfile import load_yaml_file, load_yaml_text

jsonschema = pytest.importorskip("jsonschema")
SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_cli_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == file_schema()
    assert printed["$schema"].endswith("2020-12/schema")
    assert set(printed["required"]) == {"name", "seed", "n_patients", "horizon_years", "cohort", "treatment",
                                        "infections"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_is_accepted(validator, path):
    data, _, _ = load_yaml_file(path)
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


def test_the_schema_describes_the_file_not_the_resolved_model(validator):
    data = _base()
    data["arms"] = {"low": {}, "high": {"treatment": {"dose_mg": 10}, "infections": {"infection_a": {
        "rate_per_100py": 9}}}, "plain": None}
    assert not list(validator.iter_errors(data))
    scenario_from_data(data)                     # jaksim agrees


def _base() -> dict:
    data, _ = load_yaml_text(MINIMAL, "<minimal>")
    return data


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()
BROKEN = [
    ("nme", "x"),                                          # misspelt top-level key
    ("name", _DELETE),
    ("cohort", _DELETE),
    ("infections", _DELETE),
    ("name", "bad name!"),
    ("seed", -1),
    ("n_patients", 0),
    ("n_patients", "many"),
    ("n_patients", True),
    ("horizon_years", 0),
    ("horizon_years", 101),
    ("evidence", "expert_opinion"),
    ("cohort.age.distribution", "uniform"),
    ("cohort.female", 1.5),
    ("cohort.sex", 0.5),
    ("cohort.indication", "lupus"),
    ("treatment.drug", _DELETE),
    ("treatment.dose_mg", -5),
    ("treatment.glucocorticoid_taper", [{"at_weeks": 12, "max_band": "high"}]),
    ("infections", {}),
    ("infections.bad name", {}),
    ("infections.infection_a.rate_per_100py", -1),
    ("infections.infection_a.rate_per_100py", {"value": 3, "applies_to": "everyone"}),
    ("infections.infection_a.hazard_ratios", {"age_per_10_years": 0}),
    ("infections.infection_a.recurent", False),
    ("mortality.case_fatality", {"infection_a": 2}),
    ("vaccination", {"vaccine": "mrna"}),
    ("vaccination", {"vaccine": "recombinant", "uptake": 2}),
    ("economics", {"discount": "xyz"}),
    ("arms", []),
    ("arms", {}),
    ("arms", {"a": {"cohort": {"female": 0.5}}}),
    ("arms", {"a": {"treatment": {"dos_mg": 10}}}),
    ("arms", {"a": {"infections": {"infection_a": {"rate_per_100py": "high"}}}}),
    ("arms", {"bad arm": {}}),
    ("arms", {"a": 3}),
]


@pytest.mark.parametrize("path,value", BROKEN, ids=[f"{p}={v!r}"[:40] for p, v in BROKEN])
def test_broken_scenarios_are_rejected(validator, path, value):
    data = _set(_base(), path, value)
    assert list(validator.iter_errors(data)), f"the schema accepts {path} = {value!r}"
    with pytest.raises(ScenarioError):
        scenario_from_data(data)
    assert len(BROKEN) >= 15
