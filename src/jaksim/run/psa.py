"""Probabilistic (and one-way) sensitivity analysis over the library's uncertain parameters.

Draw d of parameter p is the quantile function of p's distribution (``library/uncertainty.py``
for ``parameters.yaml``, ``economics.entry_distribution`` for ``economics.yaml``) at one
uniform keyed by (seed, ``psa/<p>``, d): reproducible, independent of other parameters and of
how draws are scheduled. Each draw re-resolves every arm with the drawn values (calibration
re-applied) and runs all arms with the draw's event clocks (``spec.build_model(draw=d)``)
through the one chunk loop (``chunks.run_chunks``), so arms stay paired within a draw; cohort
chunks and schedules are made once, under the first draw, and shared by every draw. Finished
draws are kept as they finish (``checkpoint.DrawStore``). Results are written once:

* ``outcomes.parquet``   draw, arm, n_patients, mean costs / QALYs / life-years (discounted and
  undiscounted) per patient with their within-draw standard errors, events by type;
* ``parameters.parquet`` one row per draw, one column per parameter (dampack/BCEA shape);
* ``parameter_info.parquet`` each parameter's distribution, point value and source;
* ``cycles.parquet``     draw, arm, cycle (year of follow-up), person-years, events by type;
* ``summary.parquet``    per arm: mean over draws, SD, Monte Carlo standard error, 2.5/97.5%;
* ``one_way.parquet``    (``one_way=True``) each parameter at its 2.5% and 97.5% quantile with
  every other at its point value, all under draw 0's clocks (common random numbers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jaksim import __version__
from jaksim.economics.costs_qalys import OUTCOMES
from jaksim.errors import JaksimError
from jaksim.library import Library
from jaksim.library.user import scenario_library
from jaksim.model.spec import build_model
from jaksim.output.arrow import column
from jaksim.output.atomic import fsync_file
from jaksim.output.parquet import OutputFolder
from jaksim.report.labels import parameter_label
from jaksim.run.checkpoint import DrawStore
from jaksim.run.chunks import Cohorts, initial_cap, run_chunks, set_threads
from jaksim.run.psa_parameters import (
    Parameter,
    draw_values,
    libraries,
    parameters,
    scenario_of_draw,
    shares_cohort,
)
from jaksim.run.totals import DrawTotals
from jaksim.scenario.schema import Scenario

SUMMARISED = ("costs", "qalys", "life_years", "costs_undiscounted", "qalys_undiscounted")
CHUNK = 1 << 16
#: cohorts of up to this many patients keep their chunks and schedules in memory between draws
KEEP = 1 << 21
def _run_once(scenario: Scenario, draw: int, lib: Library, econ: dict, blocks: Cohorts | None):
    """All arms for one parameter set and draw: (model, outcome names, {arm: DrawArmTotals},
    the shared cohort chunks and schedules, made here under this draw when ``blocks`` is None)."""
    model = build_model(scenario, draw=draw, library=lib, economics_library=econ)
    if blocks is None:
        blocks = Cohorts(model, CHUNK, keep=KEEP)
    totals = DrawTotals(model)
    caps = {arm.name: initial_cap(arm, float(scenario.horizon_years)) for arm in model.arms}
    run_chunks(model, blocks, 0, scenario.n_patients, CHUNK, caps, [totals])
    return model, totals.names, totals.arms, blocks


@dataclass
class PsaResult:
    """Tables of a PSA (see the module docstring)."""

    outcomes: pa.Table
    parameters: pa.Table
    parameter_info: pa.Table
    cycles: pa.Table
    summary: pa.Table
    one_way: pa.Table | None
    arms: list[str]
    willingness_to_pay: tuple[float, ...]
    currency: str


def _rows(draw: int, n: int, names, res, out_rows: list, cyc_rows: list) -> None:
    for arm, (s1, s2, events, cyc, py) in res.items():
        row = {"draw": draw, "arm": arm, "n_patients": n}
        for o in OUTCOMES:
            m = s1[o] / n
            row[o] = m
            if o in SUMMARISED:
                row[f"{o}_se"] = float(np.sqrt(max(s2[o] / n - m * m, 0.0) / max(n - 1, 1)))
        for k, t in enumerate(names):
            row[f"events_{t}"] = int(events[k])
        out_rows.append(row)
        for y in range(cyc.shape[0]):
            crow = {"draw": draw, "arm": arm, "cycle": y, "person_years": float(py[y])}
            for k, t in enumerate(names):
                crow[f"events_{t}"] = int(cyc[y, k])
            cyc_rows.append(crow)


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows) if rows else pa.table({})


def _draw(scenario: Scenario, draw: int, params: Sequence[Parameter], values: np.ndarray,
          blocks: Cohorts, numba_threads: int | None = None):
    """One draw as a task on a Dask worker: (draw, outcome names, results); ``blocks`` shared."""
    if numba_threads is not None:
        set_threads(min(numba_threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    lib, econ = libraries(params, values, scenario_library(scenario))
    sc = scenario_of_draw(scenario, params, values)
    _, names, res, _ = _run_once(sc, draw, lib, econ, blocks if shares_cohort(params) else None)
    return draw, names, res


def _first_blocks(scenario: Scenario, draw: int, params: Sequence[Parameter], values: np.ndarray) -> Cohorts | None:
    """Cohort chunks and schedules shared by all draws, made under the first draw's values (None:
    a drawn scenario value changes the cohort or a vaccination strategy, so each draw makes its own)."""
    if not shares_cohort(params):
        return None
    lib, econ = libraries(params, values, scenario_library(scenario))
    sc = scenario_of_draw(scenario, params, values)
    return Cohorts(build_model(sc, draw=draw, library=lib, economics_library=econ), CHUNK, keep=KEEP)


def _draws(scenario: Scenario, draws: Sequence[int], params: Sequence[Parameter], values: np.ndarray,
           blocks: Cohorts, numba_threads: int | None = None) -> list:
    """A batch of draws as one Dask task (``_draw`` for each): fewer, longer tasks spend less of
    the cores on the scheduler and the messages (a draw takes about 0.1 s)."""
    return [_draw(scenario, d, params, v, blocks, numba_threads) for d, v in zip(draws, values, strict=True)]


def _batch_size(n_draws: int, n_workers: int) -> int:
    """Draws per task: about 8 tasks per worker (load balance), at most 16 draws (progress)."""
    return max(1, min(16, n_draws // max(1, 8 * n_workers)))


def _run_on_cluster(scenario, draws, params, values, scheduler, progress, blocks, store, threads=None):
    """The draws as tasks on Dask (``jaksim.scaleout``), in batches; results in draw order."""
    from distributed import as_completed

    from jaksim.run.scaleout import connect
    with connect(scheduler, threads=threads) as cluster:
        client = cluster.client
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = _batch_size(len(draws), workers)
        shared_params, shared_blocks = client.scatter([list(params), blocks], broadcast=True)
        futures = [client.submit(_draws, scenario, draws[i:i + size], shared_params, values[i:i + size],
                                 shared_blocks, cluster.numba_threads,
                                 key=f"jaksim-psa-{scenario.name}-draws-from-{draws[i]}")
                   for i in range(0, len(draws), size)]
        for _, batch in as_completed(futures, with_results=True):
            for d, names, res in batch:
                if store is not None:
                    store.save(d, names, res)
                if progress:
                    progress(1)
        done = [r for batch in client.gather(futures) for r in batch]
    return done


#: draws per process below which a PSA without ``processes`` runs in this process (a worker
#: process costs about a second to start: imports and the numba cache)
MIN_DRAWS_PER_PROCESS = 32


def process_count(processes: int | None, n_draws: int, scheduler: str | None) -> int:
    """Worker processes for the draws: ``processes`` if given, else every core when there are
    at least ``MIN_DRAWS_PER_PROCESS`` draws per core (1: this process; 0 with a scheduler)."""
    if scheduler is not None:
        return 0
    if processes is not None:
        if processes < 1:
            raise JaksimError(f"--processes {processes} is out of range; allowed: 1 or more")
        return processes
    cores = os.cpu_count() or 1
    return cores if cores > 1 and n_draws >= MIN_DRAWS_PER_PROCESS * cores else 1


def _worker_setup() -> None:
    """A PSA worker process: one numba thread (the processes share the cores) and the allocator
    setting of ``jaksim run`` (``run.memory``)."""
    from jaksim.run.memory import keep_freed_memory
    keep_freed_memory()
    set_threads(1)


def _run_in_processes(scenario, draws, params, values, processes, progress, blocks, store):
    """The draws in batches on a pool of ``processes`` worker processes (spawned: numba's threads
    do not survive a fork); results in draw order, identical to the serial run's."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    size = _batch_size(len(draws), processes)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_setup) as pool:
        futures = [pool.submit(_draws, scenario, draws[i:i + size], list(params), values[i:i + size], blocks)
                   for i in range(0, len(draws), size)]
        for f in as_completed(futures):
            for d, names, res in f.result():
                if store is not None:
                    store.save(d, names, res)
                if progress:
                    progress(1)
        return [r for f in futures for r in f.result()]


def run_psa(scenario: Scenario, draws: Sequence[int], *, threads: int | None = None, one_way: bool = False,
            progress: Callable[[int], None] | None = None, scheduler: str | None = None,
            store: DrawStore | None = None, processes: int | None = None) -> PsaResult:
    """Run the PSA draws (any order; results sorted by draw) and optionally the one-way analysis.

    ``scheduler``: run the draws on Dask (``'local'``, ``'local:N'`` or a scheduler address, see
    ``jaksim.scaleout``); ``processes``: on a pool of this many worker processes of this machine
    (default: every core for a PSA of at least 32 draws per core, else this process; 1: this
    process); the results are identical to the serial run's either way. ``store``: draws already
    in it are not run again, and every draw run is saved there as it finishes.
    """
    if scenario.arms[0].economics is None:
        raise JaksimError(f"scenario '{scenario.name}' has no economics section; a PSA needs costs and QALYs "
                          "(add 'economics: {discount: nice}')")
    if scheduler is not None:
        from jaksim.run.scaleout import check_scheduler
        check_scheduler(scheduler)
    set_threads(threads)
    params = parameters(scenario)
    draws = sorted(int(d) for d in draws)
    values = draw_values(params, scenario.seed, draws, scenario)
    share = shares_cohort(params)
    out_rows: list[dict] = []
    cyc_rows: list[dict] = []
    finished = store.load() if store is not None else {}
    todo = [i for i, d in enumerate(draws) if d not in finished]
    if progress and len(todo) < len(draws):
        progress(len(draws) - len(todo))
    # cohort chunks and schedules are made under the first draw's values: by that draw's run
    # when it runs here first, else up front (on Dask, or when a resumed PSA had finished it),
    # so a resumed PSA equals an uninterrupted one
    pool = process_count(processes, len(todo), scheduler)
    if scheduler is None and pool == 1 and todo[:1] == [0]:
        schedules = None
    else:
        schedules = _first_blocks(scenario, draws[0], params, values[0])
    if scheduler is not None and todo:
        for d, names, res in _run_on_cluster(scenario, [draws[i] for i in todo], params, values[todo],
                                             scheduler, progress, schedules, store, threads):
            finished[d] = (names, res)
    elif pool > 1 and todo:
        for d, names, res in _run_in_processes(scenario, [draws[i] for i in todo], params, values[todo], pool,
                                               progress, schedules if share else None, store):
            finished[d] = (names, res)
    else:
        for i in todo:                    # the first draw makes the cohort chunks and schedules
            lib, econ = libraries(params, values[i], scenario_library(scenario))
            sc = scenario_of_draw(scenario, params, values[i])
            _, names, res, blocks = _run_once(sc, draws[i], lib, econ, schedules if share else None)
            schedules = blocks if share else None
            finished[draws[i]] = (names, res)
            if store is not None:
                store.save(draws[i], names, res)
            if progress:
                progress(1)
    done = [(d, *finished[d]) for d in draws]
    for d, names, res in done:
        _rows(d, scenario.n_patients, names, res, out_rows, cyc_rows)
    ptable = pa.table({"draw": column(draws, pa.int64()),
                       **{p.name: column(values[:, j]) for j, p in enumerate(params)}})
    info = pa.Table.from_pylist([{
        "parameter": p.name, "label": parameter_label(p.name), "library": p.library, "family": p.family,
        "point_value": p.point,
        "mean": float(p.dist.mean()), "ci_lower": float(p.dist.ppf(0.025)), "ci_upper": float(p.dist.ppf(0.975)),
        "status": p.status, "citation": p.citation} for p in params]) if params else pa.table({})
    ow = _one_way(scenario, params, schedules) if one_way else None
    arms = [a.name for a in scenario.arms]
    spec = (schedules.model if schedules is not None else build_model(scenario)).economics[0]
    outcomes_t = _table(out_rows)
    return PsaResult(outcomes_t, ptable, info, _table(cyc_rows), summarise(outcomes_t, arms), ow, arms,
                     spec.willingness_to_pay, spec.currency)


def summarise(outcomes_t: pa.Table, arms: list[str]) -> pa.Table:
    """Per arm and outcome: mean over draws, SD, Monte Carlo SE of the mean, 2.5% and 97.5%;
    increments versus the first arm likewise (paired within draws)."""
    rows = []
    if outcomes_t.num_rows == 0:
        return pa.table({})
    arm_col = np.array(outcomes_t.column("arm").to_pylist())
    draw_col = outcomes_t.column("draw").to_numpy()
    order = {a: np.argsort(draw_col[arm_col == a], kind="stable") for a in arms}
    for o in SUMMARISED:
        x = outcomes_t.column(o).to_numpy()
        ref = x[arm_col == arms[0]][order[arms[0]]]
        for a in arms:
            v = x[arm_col == a][order[a]]
            for kind, y in (("mean", v), ("incremental", v - ref)):
                D = y.shape[0]
                sd = float(y.std(ddof=1)) if D > 1 else 0.0
                rows.append({"arm": a, "outcome": o, "statistic": kind, "n_draws": D, "mean": float(y.mean()),
                             "sd": sd, "mcse": sd / np.sqrt(D), "p2_5": float(np.quantile(y, 0.025)),
                             "p97_5": float(np.quantile(y, 0.975))})
    return pa.Table.from_pylist(rows)


def _one_way(scenario: Scenario, params: Sequence[Parameter], schedules) -> pa.Table:
    """Each parameter at its 2.5% and 97.5% quantiles, others at point values; draw 0's clocks."""
    point = [p.point for p in params]
    rows = []
    settings = [("base", None, None)] + [(b, j, q) for j in range(len(params)) for b, q in (("low", 0.025),
                                                                                           ("high", 0.975))]
    for bound, j, q in settings:
        vals = list(point)
        if j is not None:
            vals[j] = float(params[j].dist.ppf(q))
        lib, econ = libraries(params, vals, scenario_library(scenario))
        sc = scenario_of_draw(scenario, params, vals)
        share = shares_cohort(params)
        _, _, res, blocks = _run_once(sc, 0, lib, econ, schedules if share else None)
        schedules = blocks if share else None
        for arm, (s1, _, _, _, _) in res.items():
            rows.append({"parameter": params[j].name if j is not None else "", "bound": bound,
                         "value": vals[j] if j is not None else float("nan"), "arm": arm,
                         "costs": s1["costs"] / scenario.n_patients, "qalys": s1["qalys"] / scenario.n_patients})
    return pa.Table.from_pylist(rows)


def write_psa(result: PsaResult, scenario: Scenario, out: Path, overwrite: bool = False,
              folder: OutputFolder | None = None) -> None:
    """Write the PSA tables to ``out`` atomically (one Parquet file per table, plus jaksim.json);
    into ``folder`` when the caller made it (``jaksim psa`` does, to keep finished draws there)."""
    own = folder is None
    if folder is None:
        folder = OutputFolder(Path(out), overwrite)
    try:
        meta = {b"jaksim.version": __version__.encode(), b"jaksim.scenario_yaml": (scenario.text or "").encode(),
                b"jaksim.seed": str(scenario.seed).encode()}
        tables = {"outcomes": result.outcomes, "parameters": result.parameters,
                  "parameter_info": result.parameter_info, "cycles": result.cycles, "summary": result.summary}
        if result.one_way is not None:
            tables["one_way"] = result.one_way
        for name, t in tables.items():           # the finished draws stay in the work folder until
            path = folder.result / f"{name}.parquet"  # the result is in place (commit removes them)
            pq.write_table(t.replace_schema_metadata(meta), path)
            fsync_file(path)
        folder.commit({"kind": "psa", "jaksim_version": __version__, "scenario": scenario.name,
                       "seed": scenario.seed, "n_patients": scenario.n_patients,
                       "horizon_years": scenario.horizon_years, "arms": result.arms, "reference_arm": result.arms[0],
                       "n_draws": result.parameters.num_rows, "currency": result.currency,
                       "willingness_to_pay": list(result.willingness_to_pay),
                       "tables": {n: f"{n}.parquet" for n in tables}})
    except BaseException:
        if own:
            folder.abort()
        raise

