"""Public Python API: the same code path as the command line."""

from __future__ import annotations

from pathlib import Path

from jaksim.scenario import load as config
from jaksim.run import engine
from jaksim.scenario.schema import Scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file and check it fully (structure, ranges, library look-ups, cohort file).

    Raises ``jaksim.errors.ScenarioError`` with file, line, key path and what is allowed.
    """
    scenario = config.load_scenario(path)
    engine.build_model(scenario)
    return scenario


def run(scenario: Scenario | str | Path, *, n_patients: int | None = None, seed: int | None = None,
        horizon_years: float | None = None, out: str | Path | None = None, overwrite: bool = False,
        threads: int | None = None, chunk_size: int = engine.DEFAULT_CHUNK_SIZE,
        progress=None) -> engine.RunResult:
    """Simulate every arm of a scenario; return Arrow tables ``summary``, ``events``, ``patients``.

    Keyword overrides replace the file's values. With ``out`` the Parquet dataset is kept
    there (as ``jaksim run --out``); without it, results are only returned in memory.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(n_patients=n_patients, seed=seed, horizon_years=horizon_years)
    return engine.run(scenario, out=out, overwrite=overwrite, threads=threads, chunk_size=chunk_size,
                      progress=progress)
