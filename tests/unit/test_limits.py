"""Resource limits (issue 17, finding 6), from the attacker's side: an alias bomb, deep nesting,
a huge file, implausible hazard ratios and rates, hazards that would give a patient endless
events, and runs too large for the machine are each refused with one line (exit 2) before
anything is simulated or written; ``--force`` lets a large run through."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import MINIMAL, leftovers, line_of, replace, write_scenario
from jaksim.cli import main

#: the classic "billion laughs": 2 kB that expand to 10^9 values
BOMB = "lol0: &l0 [lol]\n" + "".join(
    f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def _refused(tmp_path, capsys, text: str, *fragments: str, argv=("validate",)) -> str:
    scenario = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    extra = ["--out", str(out)] if argv[0] in ("run", "psa") else []
    assert main([*argv, str(scenario), *extra]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    for f in fragments:
        assert f in line, line
    assert leftovers(out) == []
    return line


def test_alias_bomb_is_refused_quickly_and_in_little_memory(tmp_path):
    """A real process under a 2 GB address-space limit: refused in one line within 10 s."""
    scenario = write_scenario(tmp_path, BOMB + MINIMAL)
    assert len(BOMB) < 2048
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from jaksim.cli import main
        sys.exit(main(["validate", {str(scenario)!r}]))
    """)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 10
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "alias bomb" in line and f"{scenario}:" in line


def test_alias_bomb_in_a_user_library_is_refused(tmp_path, capsys):
    (tmp_path / "lib.yaml").write_text(BOMB)
    line = _refused(tmp_path, capsys, MINIMAL + "library: lib.yaml\n", "lib.yaml:", "alias bomb")
    assert "500,000" in line


def test_few_aliases_are_fine(tmp_path, capsys):
    text = replace(MINIMAL, "  infection_b: {rate_per_100py: 2.0}", "  infection_b: *a")
    text = replace(text, "  infection_a: {rate_per_100py: 5.0}", "  infection_a: &a {rate_per_100py: 5.0}")
    assert main(["validate", str(write_scenario(tmp_path, text))]) == 0


@pytest.mark.parametrize("levels", [33, 100_000])
def test_deep_nesting_is_refused_with_its_line(tmp_path, capsys, levels):
    text = MINIMAL + "description: " + "[" * levels + "]" * levels + "\n"
    _refused(tmp_path, capsys, text, f":{line_of(text, 'description')}: ", "nesting deeper than 32 levels")


def test_deep_block_nesting_is_refused(tmp_path, capsys):
    deep = "".join(f"{'  ' * i}k{i}:\n" for i in range(40))
    _refused(tmp_path, capsys, MINIMAL + "description:\n" + textwrap.indent(deep, "  ") + "    x\n",
             "nesting deeper than 32 levels")


def test_nesting_within_the_limit_is_read(tmp_path):
    from jaksim.scenario.yamlfile import load_yaml_text
    data, _ = load_yaml_text("a: " + "[" * 31 + "1" + "]" * 31)
    assert data["a"] is not None


def test_huge_scenario_file_is_refused_unread(tmp_path, capsys):
    """50 MB of comments once gave 1 GB of output metadata; the text is kept in every file."""
    text = MINIMAL + ("# " + "x" * 98 + "\n") * 11_000
    _refused(tmp_path, capsys, text, "larger than 1,048,576 bytes")


@pytest.mark.parametrize("old, new, path, fragment", [
    ("{rate_per_100py: 5.0}", "{rate_per_100py: 5.0, hazard_ratios: {female: 1000}}",
     "infections.infection_a.hazard_ratios.female", "less than or equal to 100"),
    ("{rate_per_100py: 5.0}", "{rate_per_100py: 5.0, hazard_ratios: {female: 1e-300}}",
     "infections.infection_a.hazard_ratios.female", "greater than or equal to 0.001"),
    ("{rate_per_100py: 5.0}", "{rate_per_100py: 5.0, off_treatment_hazard_ratio: 101}",
     "infections.infection_a.off_treatment_hazard_ratio", "less than or equal to 100"),
    ("{rate_per_100py: 5.0}", "{rate_per_100py: 1001}", "infections.infection_a.rate_per_100py",
     "at most 1000 events per 100 patient-years"),
    ("{rate_per_100py: 5.0}", "{rate_per_100py: {value: 5000, applies_to: population}}",
     "infections.infection_a.rate_per_100py.value", "less than or equal to 1000"),
    ("  rate_per_100py: 1.0", "  rate_per_100py: 2000", "mortality.rate_per_100py", "less than or equal to 1000"),
    ("discontinuation_rate_per_100py: 0", "discontinuation_rate_per_100py: 5000",
     "treatment.discontinuation_rate_per_100py", "less than or equal to 1000"),
])
def test_implausible_hazard_ratios_and_rates_are_refused(tmp_path, capsys, old, new, path, fragment):
    text = replace(MINIMAL, old, new)
    _refused(tmp_path, capsys, text, f": {path}: ", fragment)


def test_hazards_giving_endless_events_are_refused_at_validate(tmp_path, capsys):
    text = replace(MINIMAL, "{rate_per_100py: 5.0}",
                   "{rate_per_100py: 1000, hazard_ratios: {female: 100, diabetes: 50}}")
    text = replace(text, "horizon_years: 2", "horizon_years: 20")
    line = _refused(tmp_path, capsys, text, ": infections.infection_a: ", "at most 10,000 per patient")
    assert f":{line_of(text, 'infection_a')}: " in line


def test_the_worst_patient_of_a_shipped_scenario_is_far_from_the_bound():
    from jaksim.model.bounds import MAX_EXPECTED_EVENTS, cohort_reach, worst_events
    from jaksim.model.spec import build_model
    from jaksim.scenario.load import load_scenario
    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_dose_and_taper.yaml")
    model = build_model(sc, calibrate=False)
    reach = cohort_reach(sc)
    assert max(worst_events(a, sc.horizon_years, reach).sum() for a in model.arms) < MAX_EXPECTED_EVENTS / 20


def test_only_covariates_and_ages_the_cohort_has_count():
    """Hazard ratios of covariates nobody has, and ages nobody reaches, do not make the bound."""
    from jaksim.scenario.load import scenario_from_text
    hrs = "{female: 100, diabetes: 100, age_per_10_years: 100, reference_age_years: 30}"
    text = replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: 5.0, hazard_ratios: " + hrs + "}")
    text = replace(text, "female: 0.5", "female: 0.0")          # nobody female, nobody diabetic
    text = replace(text, "mean_years: 50, sd_years: 10, min_years: 18, max_years: 90",
                   "mean_years: 25, sd_years: 1, min_years: 18, max_years: 90")
    from jaksim.model.spec import build_model
    build_model(scenario_from_text(text), calibrate=False)     # the young cohort: accepted
    older = replace(text, "mean_years: 25, sd_years: 1", "mean_years: 60, sd_years: 1")
    from jaksim.errors import ScenarioError
    with pytest.raises(ScenarioError, match="infections.infection_a: .* at most 10,000 per patient"):
        build_model(scenario_from_text(older), calibrate=False)


def _run_model(tmp_path, text: str):
    from jaksim.model.spec import build_model
    from jaksim.run.engine import run_to_folder
    from jaksim.scenario.load import scenario_from_text
    out = tmp_path / "run"
    return out, lambda: run_to_folder(build_model(scenario_from_text(text)), out, chunk_size=500, threads=1)


def test_a_patient_with_too_many_events_is_an_error_not_a_growing_buffer(tmp_path, monkeypatch):
    from jaksim.errors import JaksimError
    from jaksim.run import chunks, totals
    monkeypatch.setattr(chunks, "MAX_EVENTS_PER_PATIENT", 5)
    monkeypatch.setattr(totals, "initial_cap", lambda spec, horizon: 1)     # force the buffer to grow
    out, run = _run_model(tmp_path, replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: 500}"))
    with pytest.raises(JaksimError, match=r"had \d+ events .* more than the 5 per patient") as info:
        run()
    assert "\n" not in str(info.value)
    assert leftovers(out) == []


def test_an_event_buffer_past_its_limit_is_an_error(tmp_path, monkeypatch):
    from jaksim.errors import JaksimError
    from jaksim.run import chunks, totals
    monkeypatch.setattr(chunks, "MAX_EVENT_BUFFER_BYTES", 100)
    monkeypatch.setattr(totals, "initial_cap", lambda spec, horizon: 1)
    out, run = _run_model(tmp_path, MINIMAL)
    with pytest.raises(JaksimError, match="give a smaller --chunk-size"):
        run()
    assert leftovers(out) == []


# ------------------------------------------------------------------------ run size
def test_a_run_too_large_for_the_machine_is_refused_at_validate(tmp_path, capsys):
    text = replace(MINIMAL, "n_patients: 2000", "n_patients: 1e12")
    line = _refused(tmp_path, capsys, text, f":{line_of(text, 'n_patients')}: n_patients: ", "--force", "days")
    assert "1,000,000,000,000 patients" in line


def test_force_lets_validate_pass(tmp_path, capsys):
    scenario = write_scenario(tmp_path, replace(MINIMAL, "n_patients: 2000", "n_patients: 1e12"))
    assert main(["validate", str(scenario), "--force"]) == 0


def test_a_run_too_large_from_the_command_line_writes_nothing(tmp_path, capsys):
    scenario = write_scenario(tmp_path, MINIMAL)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "1e12"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: --n-patients 1000000000000: ") and "--force" in line
    assert leftovers(out) == []


def test_a_psa_too_long_is_refused(tmp_path, capsys):
    text = MINIMAL + "economics: {discount: nice}\n"
    scenario = write_scenario(tmp_path, replace(text, "n_patients: 2000", "n_patients: 1e9"))
    out = tmp_path / "out"
    assert main(["psa", str(scenario), "--out", str(out), "--draws", "1e6"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "× 1,000,000 draws" in line and "--draws" in line
    assert leftovers(out) == []


def test_not_enough_disk_is_refused(tmp_path, capsys, monkeypatch):
    from jaksim.run import budget
    monkeypatch.setattr(budget, "_free_bytes", lambda out: 1000)
    scenario = write_scenario(tmp_path, MINIMAL)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "of disk for the results" in line and "1.0 KB free" in line
    assert leftovers(out) == []
    assert main(["run", str(scenario), "--out", str(out), "--force"]) == 0
