"""Public Python API: the same code path as the command line.

Imports are light: the simulation engine (numba, pyarrow) is imported by the function that
needs it, so ``import jaksim`` and loading a scenario stay fast (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from jaksim.scenario import load as config
from jaksim.scenario.schema import Scenario

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from jaksim.run.engine import RunResult


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file and check it fully (structure, ranges, library look-ups, cohort file).

    Parameters
    ----------
    path : str or Path
        The scenario YAML file.

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    jaksim.errors.ScenarioError
        With file, line, key path and what is allowed.
    """
    from jaksim.model.spec import build_model

    scenario = config.load_scenario(path)
    build_model(scenario, calibrate=False)   # every check; calibration (scipy) only when simulating
    return scenario


def run(scenario: Scenario | str | Path, *, n_patients: int | None = None, seed: int | None = None,
        horizon_years: float | None = None, out: str | Path | None = None, overwrite: bool = False,
        threads: int | None = None, chunk_size: int | None = None,
        progress: Callable[[int], None] | None = None, reuse_freed_memory: bool = False) -> RunResult:
    """Simulate every arm of a scenario; return Arrow tables ``summary``, ``events``, ``patients``.

    Keyword overrides replace the file's values. With ``out`` the Parquet dataset is kept
    there (as ``jaksim run --out``); without it, results are only returned in memory.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A loaded scenario, or the path of its YAML file.
    n_patients, seed, horizon_years : optional
        Replace the scenario's values.
    out : str or Path, optional
        Results folder to write as ``jaksim run --out`` does; None: in memory only.
    overwrite : bool
        Replace an earlier jaksim result in ``out``.
    threads : int, optional
        Numba threads (default: all cores).
    chunk_size : int, optional
        Patients simulated per chunk (memory bound); None: the engine's default (65,536).
    progress : callable, optional
        Called with the number of patients finished after each chunk.
    reuse_freed_memory : bool
        Opt in to the process-wide glibc allocator setting that the command line uses
        (:func:`jaksim.run.memory.keep_freed_memory`: freed chunk memory is kept for the next
        chunk, about 35 ms less per 10^6 patients). Off by default: it changes the whole
        process, e.g. a notebook kernel. Results are the same either way.

    Returns
    -------
    RunResult
        ``summary``, ``events`` and ``patients`` as Arrow tables (and economics where set).
    """
    from jaksim.run import engine

    if reuse_freed_memory:
        from jaksim.run.memory import keep_freed_memory
        keep_freed_memory()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(n_patients=n_patients, seed=seed, horizon_years=horizon_years)
    return engine.run(scenario, out=out, overwrite=overwrite, threads=threads,
                      chunk_size=engine.DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                      progress=progress)
