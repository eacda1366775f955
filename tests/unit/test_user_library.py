"""A user library next to a scenario: adds a drug the package lacks, overrides values, and a
broken one is a one-line located error (exit 2) that writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jaksim.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "ra_sarilumab_user_library.yaml"


def _copy_example(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "scenarios" / "libraries", tmp_path / "libraries")
    target = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, target)
    return target


def test_user_library_adds_a_drug_end_to_end(tmp_path, capsys):
    scenario = _copy_example(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "2000"]) == 0
    meta = pq.read_schema(next((out / "events").glob("arm=sarilumab_200/*.parquet"))).metadata
    inf = json.loads(meta[b"jaksim.parameters"])["infections"]["serious_infection"]
    re = inf["rate_per_100py"]["ra"]["relative_effect"]
    mine = [e for e in re["effects"] if e.get("library")]
    assert mine and all(e["library"].endswith("user_library_sarilumab.yaml") for e in mine)
    assert all(e["citation"] for e in re["effects"])
    assert main(["validate", str(scenario)]) == 0
    assert "user library: libraries/user_library_sarilumab.yaml" in capsys.readouterr().out


def test_user_library_overrides_a_package_value(tmp_path):
    lib = tmp_path / "mine.yaml"
    lib.write_text("hazard_ratios:\n  - {type: serious_infection, covariate: diabetes, hazard_ratio: 3.0,"
                   " ci95: [2.0, 4.5], citation: 'my cohort', status: read}\n")
    text = EXAMPLE.read_text().replace("library: libraries/user_library_sarilumab.yaml", "library: mine.yaml")
    text = text.replace("  sarilumab_200:\n    treatment: {drug: sarilumab, dose_mg: 200}   # every 2 weeks, "
                        "subcutaneous (user library)\n", "")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    from jaksim.model.spec import build_model
    from jaksim.scenario.load import load_scenario
    model = build_model(load_scenario(scenario), calibrate=False)
    rec = model.arms[0].provenance["infections"]["serious_infection"]["diabetes"]
    assert rec["value"] == 3.0 and rec["library"] == str(lib.resolve())


@pytest.mark.parametrize("bad,where,words", [
    ("drugs:\n  sarilumab: {drug_class: il6, doses_mg: [200], schedul: weekly}\n", ":2: drugs.sarilumab.schedul",
     "did you mean 'schedule'?"),
    ("relative_effects:\n  - {id: x, type: serious_infection, treatment: {drug: nosuch}, comparator: {drug: placebo},"
     " measure: hazard_ratio, ratio: 1.2, randomised: true, citation: c, status: read}\n",
     ":2: relative_effects.0.treatment.drug", "unknown drug"),
    ("baselines: 3\n", ":1: baselines", "valid list"),
    ("hazard_ratios:\n  - {type: serious_infection, covariate: diabetes, drug: nosuch, hazard_ratio: 2,"
     " citation: c, status: read}\n", ":2: hazard_ratios.0.drug", "unknown drug"),
    ("hazard_ratios:\n  - {type: serious_infection, covariate: diabetes, dose_mg: 5, hazard_ratio: 2,"
     " citation: c, status: read}\n", ":2: hazard_ratios.0.dose_mg", "needs its drug"),
    ("hazard_ratios:\n  - {type: serious_infection, covariate: diabetes, drug: tofacitinib, dose_mg: 7,"
     " hazard_ratio: 2, citation: c, status: read}\n", ":2: hazard_ratios.0.dose_mg", "not a dose of tofacitinib"),
])
def test_broken_user_library_is_one_located_line(tmp_path, capsys, bad, where, words):
    (tmp_path / "mine.yaml").write_text(bad)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(EXAMPLE.read_text().replace("library: libraries/user_library_sarilumab.yaml",
                                                    "library: mine.yaml"))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "Traceback" not in err[0]
    assert f"mine.yaml{where}" in err[0] and words in err[0], err[0]
    assert not out.exists()


def test_missing_user_library_names_the_key(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(EXAMPLE.read_text().replace("libraries/user_library_sarilumab.yaml", "nowhere.yaml"))
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "library" in err and "user library file not found" in err and "nowhere.yaml" in err
