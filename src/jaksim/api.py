"""Public Python API: the same code path as the command line.

Imports are light: the simulation engine (numba, pyarrow) is imported by the function that
needs it, so ``import jaksim`` and loading a scenario stay fast (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jaksim.scenario import load as config
from jaksim.scenario.schema import Scenario

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from jaksim.run.engine import RunResult
    from jaksim.run.psa import PsaResult


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
        progress: Callable[[int], None] | None = None, reuse_freed_memory: bool = False,
        cycle_length: float | None = None) -> RunResult:
    """Simulate every arm of a scenario; return Arrow tables ``summary``, ``events``, ``patients``,
    and ``contrasts``, ``economics``, ``cycles`` and ``vaccination`` where the run has them.

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
        Patients simulated per chunk (memory bound); None: 2**18 patient-arms, at least 65,536
        patients (``jaksim.run.settings.default_chunk_size``).
    progress : callable, optional
        Called with the number of patients finished after each chunk.
    reuse_freed_memory : bool
        Opt in to the process-wide glibc allocator setting that the command line uses
        (:func:`jaksim.run.memory.keep_freed_memory`: freed chunk memory is kept for the next
        chunk, about 35 ms less per 10^6 patients). Off by default: it changes the whole
        process, e.g. a notebook kernel. Results are the same either way.
    cycle_length : float, optional
        Years per cycle of the per-cycle table ``cycles`` (as ``jaksim run --cycle-length``).

    Returns
    -------
    RunResult
        ``summary``, ``events`` and ``patients`` as Arrow tables; ``contrasts`` (two arms or
        more), ``economics`` (an economics section), ``cycles`` (``cycle_length``) as Arrow
        tables or None; ``vaccination``: per arm, who was vaccinated when.
    """
    from jaksim.run import engine

    if reuse_freed_memory:
        from jaksim.run.memory import keep_freed_memory
        keep_freed_memory()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(n_patients=n_patients, seed=seed, horizon_years=horizon_years)
    return engine.run(scenario, out=out, overwrite=overwrite, threads=threads, chunk_size=chunk_size,
                      progress=progress, cycle_length=cycle_length)


def psa(scenario: Scenario | str | Path, *, draws: int | Sequence[int] = 1000, n_patients: int | None = None,
        seed: int | None = None, out: str | Path | None = None, overwrite: bool = False,
        threads: int | None = None, one_way: bool = False, scheduler: str | None = None,
        progress: Callable[[int], None] | None = None) -> PsaResult:
    """Probabilistic sensitivity analysis, as ``jaksim psa`` (same draws and numbers).

    Parameters
    ----------
    scenario : Scenario, str or Path
        A loaded scenario with an economics section, or the path of its YAML file.
    draws : int or sequence of int
        The number of draws (draws 0 .. draws-1) or the draw numbers themselves.
    n_patients, seed : optional
        Replace the scenario's values (patients per draw).
    out : str or Path, optional
        Write the PSA folder there (as ``jaksim psa --out``); None: in memory only.
    overwrite : bool
        Replace an earlier jaksim result in ``out``.
    threads : int, optional
        Numba threads (default: all cores).
    one_way : bool
        Also run the one-way (tornado) analysis.
    scheduler : str, optional
        Run the draws on Dask: ``'local'``, ``'local:N'`` or a scheduler address.
    progress : callable, optional
        Called with the number of draws finished.

    Returns
    -------
    PsaResult
        Arrow tables ``outcomes``, ``parameters``, ``parameter_info``, ``cycles``, ``summary``
        and ``one_way`` (None without ``one_way``); ``arms``, ``willingness_to_pay``, ``currency``.
    """
    from jaksim.run import psa as psa_mod

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(n_patients=n_patients, seed=seed)
    ids = range(draws) if isinstance(draws, int) else list(draws)
    result = psa_mod.run_psa(scenario, ids, threads=threads, one_way=one_way, progress=progress,
                             scheduler=scheduler)
    if out is not None:
        psa_mod.write_psa(result, scenario, Path(out), overwrite)
    return result


def export(folder: str | Path, format: str = "csv", *, out: str | Path | None = None,
           tables: Sequence[str] | None = None) -> list[Path]:
    """Write every table of a run or PSA folder as CSV files or one XLSX workbook (``jaksim export``).

    Parameters
    ----------
    folder : str or Path
        A folder written by ``jaksim run`` or ``jaksim psa`` (or :func:`run` / :func:`psa` with ``out``).
    format : {"csv", "xlsx"}
        One ``<table>.csv`` per table, or one workbook with a sheet per table.
    out : str or Path, optional
        Where to write (default ``<folder>/export``).
    tables : sequence of str, optional
        Only these tables.

    Returns
    -------
    list of Path
        The files written (a PSA folder adds dampack/BCEA matrices ``psa_cost.csv``,
        ``psa_effectiveness.csv``, ``psa_parameters.csv``).
    """
    from jaksim.output.export import export as write

    return write(Path(folder), format, None if out is None else Path(out), list(tables) if tables else None)


def report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the self-contained HTML report of a run or PSA folder (as ``jaksim report``).

    Parameters
    ----------
    folder : str or Path
        A folder written by ``jaksim run --out`` / :func:`run` with ``out``, or by ``jaksim psa``.
    out : str or Path, optional
        The HTML file (default: ``folder/report.html``); figures go to ``report_figures/`` beside it.

    Returns
    -------
    Path
        The HTML file written.
    """
    from jaksim.report.html import write_html_report
    return write_html_report(Path(folder), Path(out) if out is not None else None)
