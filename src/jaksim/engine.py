"""Engine: chunks of patients through the kernel for every arm, streamed to Parquet.

Chunks are the outer loop and arms the inner one, so each chunk's cohort is made once and
simulated under every arm with the same random streams (common random numbers). Memory is
bounded by the chunk size, whatever the number of patients.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numba
import numpy as np
import pyarrow as pa

from jaksim import __version__
from jaksim.analysis import SummaryAccumulator
from jaksim.cohort import Cohort, CohortSource
from jaksim.config import BINARY_COVARIATES, GLUCOCORTICOID_BANDS, INDICATIONS, Scenario
from jaksim.errors import JaksimError
from jaksim.hazards import ArmSpec, build_arms
from jaksim.io import TABLES, OutputFolder, RowGroupWriter, with_metadata
from jaksim.kernel import (EXIT_REASONS, FATAL, HOSPITALISED, ON_TREATMENT, SERIOUS, STOPS_TREATMENT,
                           compact, simulate)
from jaksim.library import load_library
from jaksim.rng import stream_key

DEFAULT_CHUNK_SIZE = 1 << 16
BLOCK_SIZE = 256


@dataclass(frozen=True)
class Model:
    """A scenario resolved for simulation: cohort source, arm specs and stream keys."""

    scenario: Scenario
    cohort: CohortSource
    arms: tuple[ArmSpec, ...]
    types: tuple[str, ...]
    clock_keys: np.ndarray
    cons_keys: np.ndarray
    death_key: np.uint64
    disc_key: np.uint64


def build_model(scenario: Scenario, draw: int = 0) -> Model:
    """Resolve a validated scenario against the library (raises JaksimError on bad input)."""
    library = load_library()
    try:
        cohort = CohortSource(scenario)
    except JaksimError as exc:
        raise scenario.error(("cohort", "from_file"), str(exc).removeprefix("cohort.from_file: ")) from None
    arms = tuple(build_arms(scenario, library, cohort.indications()))
    types = arms[0].types
    seed = scenario.seed
    return Model(
        scenario=scenario, cohort=cohort, arms=arms, types=types,
        clock_keys=np.array([stream_key(seed, f"clock/{t}", draw) for t in types], dtype=np.uint64),
        cons_keys=np.array([stream_key(seed, f"consequence/{t}", draw) for t in types], dtype=np.uint64),
        death_key=stream_key(seed, "death/background", draw),
        disc_key=stream_key(seed, "treatment/discontinuation", draw),
    )


@dataclass
class ChunkResult:
    """Kernel output for one chunk and arm (patients in id order, events in patient/time order)."""

    follow_up: np.ndarray
    exit_reason: np.ndarray
    stop_time: np.ndarray
    counts: np.ndarray
    first_time: np.ndarray
    ev_pid: np.ndarray
    ev_type: np.ndarray
    ev_time: np.ndarray
    ev_num: np.ndarray
    ev_flags: np.ndarray


def _initial_cap(spec: ArmSpec, horizon: float) -> int:
    per_patient = float(np.nansum(np.nanmax(spec.base_rate, axis=1) * spec.tot_mult.max(axis=1))) * horizon
    return int(BLOCK_SIZE * per_patient * 2.0) + 64


def simulate_chunk(model: Model, arm: ArmSpec, cohort: Cohort, cap: int) -> tuple[ChunkResult, int]:
    """Run the kernel on one chunk; rerun with a larger event buffer if a block overflowed."""
    sc = model.scenario
    while True:
        (fu, ex, st, counts, first, pid, typ, tim, num, flags, block_counts) = simulate(
            cohort.patient_id, cohort.age, cohort.covariates, cohort.gc_band, cohort.indication,
            model.cohort.age_advances, float(sc.horizon_years),
            arm.base_rate, arm.log_hr, arm.hr_gc, arm.age_log_hr, arm.ref_age, arm.age_hr_table,
            arm.tot_edges, arm.tot_mult, arm.off_hr, arm.recurrent, arm.p_fatal, arm.p_hosp,
            arm.p_serious, arm.p_stop, arm.discontinuation_rate, arm.taper_times, arm.taper_band,
            arm.mortality, model.clock_keys, model.cons_keys, model.death_key, model.disc_key,
            BLOCK_SIZE, cap)
        need = int(block_counts.max()) if block_counts.size else 0
        if need <= cap:
            break
        cap = int(need * 1.25) + 16
    pid, typ, tim, num, flags = compact(block_counts, cap, pid, typ, tim, num, flags)
    return ChunkResult(fu, ex, st, counts, first, pid, typ, tim, num, flags), cap


# ---------------------------------------------------------------------------- Arrow
def _dict(codes: np.ndarray, names: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8), pa.int8()),
                                          pa.array(list(names), pa.string()))


def _nullable(x: np.ndarray) -> pa.Array:
    return pa.array(x, pa.float64(), mask=np.isnan(x))


def schemas(types: tuple[str, ...]) -> dict[str, pa.Schema]:
    dict8 = pa.dictionary(pa.int8(), pa.string())
    events = pa.schema([
        ("patient_id", pa.int64()), ("draw", pa.int32()), ("type", dict8), ("event_number", pa.int32()),
        ("time_years", pa.float64()), ("age_at_event_years", pa.float64()), ("on_treatment", pa.bool_()),
        ("hospitalised", pa.bool_()), ("serious", pa.bool_()), ("fatal", pa.bool_()),
        ("stops_treatment", pa.bool_())])
    pfields = [("patient_id", pa.int64()), ("draw", pa.int32()), ("age_years", pa.float64())]
    pfields += [(c, pa.bool_()) for c in BINARY_COVARIATES]
    pfields += [("glucocorticoid_band", dict8), ("indication", dict8), ("follow_up_years", pa.float64()),
                ("exit_reason", dict8), ("treatment_stop_years", pa.float64()),
                ("on_treatment_years", pa.float64())]
    for t in types:
        pfields += [(f"{t}_events", pa.int32()), (f"{t}_first_years", pa.float64())]
    return {"events": events, "patients": pa.schema(pfields)}


def event_batch(schema: pa.Schema, types, cohort: Cohort, r: ChunkResult, draw: int) -> pa.RecordBatch:
    idx = r.ev_pid - cohort.patient_id[0]
    f = r.ev_flags
    return pa.RecordBatch.from_arrays([
        pa.array(r.ev_pid), pa.array(np.full(r.ev_pid.shape[0], draw, np.int32)),
        pa.DictionaryArray.from_arrays(pa.array(r.ev_type.astype(np.int8)), pa.array(list(types))),
        pa.array(r.ev_num), pa.array(r.ev_time), pa.array(cohort.age[idx] + r.ev_time),
        pa.array((f & ON_TREATMENT) != 0), pa.array((f & HOSPITALISED) != 0), pa.array((f & SERIOUS) != 0),
        pa.array((f & FATAL) != 0), pa.array((f & STOPS_TREATMENT) != 0)], schema=schema)


def patient_batch(schema: pa.Schema, types, cohort: Cohort, r: ChunkResult, draw: int) -> pa.RecordBatch:
    n = len(cohort)
    on_years = np.where(np.isnan(r.stop_time), r.follow_up, r.stop_time)
    cols = [pa.array(cohort.patient_id), pa.array(np.full(n, draw, np.int32)), pa.array(cohort.age)]
    cols += [pa.array(cohort.covariates[:, c] != 0) for c in range(len(BINARY_COVARIATES))]
    cols += [_dict(cohort.gc_band, GLUCOCORTICOID_BANDS), _dict(cohort.indication, INDICATIONS),
             pa.array(r.follow_up), _dict(r.exit_reason, EXIT_REASONS), _nullable(r.stop_time),
             pa.array(on_years)]
    for k in range(len(types)):
        cols += [pa.array(np.ascontiguousarray(r.counts[:, k])),
                 _nullable(np.ascontiguousarray(r.first_time[:, k]))]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


# ----------------------------------------------------------------------------- run
def dependency_versions() -> dict[str, str]:
    import pydantic
    import scipy
    import yaml
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "pyarrow": pa.__version__, "pydantic": pydantic.__version__,
            "pyyaml": yaml.__version__}


def file_metadata(model: Model, arm: ArmSpec, table: str, draw: int) -> dict[str, str]:
    sc = model.scenario
    return {
        "jaksim.version": __version__,
        "jaksim.table": table,
        "jaksim.scenario_name": sc.name,
        "jaksim.arm": arm.name,
        "jaksim.seed": str(sc.seed),
        "jaksim.draw": str(draw),
        "jaksim.n_patients": str(sc.n_patients),
        "jaksim.horizon_years": repr(float(sc.horizon_years)),
        "jaksim.scenario_yaml": sc.text or "",
        "jaksim.resolved_scenario": sc.model_dump_json(),
        "jaksim.parameters": json.dumps(arm.provenance, sort_keys=True, default=float),
        "jaksim.dependencies": json.dumps(dependency_versions(), sort_keys=True),
    }


def set_threads(threads: int | None) -> int:
    """Set numba's thread count for this process (1 .. number of cores)."""
    limit = numba.config.NUMBA_NUM_THREADS
    n = limit if threads is None else threads
    if not 1 <= n <= limit:
        raise JaksimError(f"--threads {threads} is out of range; allowed: 1 to {limit} on this machine")
    numba.set_num_threads(n)
    return n


def run_to_folder(model: Model, out: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE, threads: int | None = None,
                  overwrite: bool = False, draw: int = 0,
                  progress: Callable[[int], None] | None = None) -> dict[str, pa.Table]:
    """Simulate every arm and write the dataset to ``out``; return the summary table of each arm."""
    if chunk_size < 1 or chunk_size > 1 << 26:
        raise JaksimError(f"--chunk-size {chunk_size} is out of range; allowed: 1 to {1 << 26}")
    set_threads(threads)
    sc = model.scenario
    folder = OutputFolder(out, overwrite)
    writers: list[RowGroupWriter] = []
    try:
        sch = schemas(model.types)
        w_ev, w_pat, acc, caps = {}, {}, {}, {}
        for arm in model.arms:
            w_ev[arm.name] = RowGroupWriter(folder.path("events", arm.name),
                                            with_metadata(sch["events"], file_metadata(model, arm, "events", draw)))
            w_pat[arm.name] = RowGroupWriter(folder.path("patients", arm.name),
                                             with_metadata(sch["patients"], file_metadata(model, arm, "patients", draw)))
            writers += [w_ev[arm.name], w_pat[arm.name]]
            acc[arm.name] = SummaryAccumulator(model.types)
            caps[arm.name] = _initial_cap(arm, sc.horizon_years)
        for start in range(0, sc.n_patients, chunk_size):
            stop = min(sc.n_patients, start + chunk_size)
            cohort = model.cohort.block(start, stop)
            for arm in model.arms:
                r, caps[arm.name] = simulate_chunk(model, arm, cohort, caps[arm.name])
                w_ev[arm.name].write(event_batch(sch["events"], model.types, cohort, r, draw))
                w_pat[arm.name].write(patient_batch(sch["patients"], model.types, cohort, r, draw))
                acc[arm.name].add(r.follow_up, r.exit_reason, r.stop_time, r.counts, r.first_time)
                if progress:
                    progress(stop - start)
        summaries = {}
        for arm in model.arms:
            table = acc[arm.name].table(sc.horizon_years)
            table = table.add_column(1, "draw", pa.array(np.full(table.num_rows, draw, np.int32)))
            meta = file_metadata(model, arm, "summary", draw)
            w = RowGroupWriter(folder.path("summary", arm.name), with_metadata(table.schema, meta))
            writers.append(w)
            w.write(table.to_batches()[0])
            summaries[arm.name] = table
        for w in writers:
            w.close()
        writers = []
        folder.commit({
            "jaksim_version": __version__, "scenario": sc.name, "seed": sc.seed, "draw": draw,
            "n_patients": sc.n_patients, "horizon_years": sc.horizon_years,
            "arms": [a.name for a in model.arms], "infection_types": list(model.types),
            "tables": {t: f"{t}/arm=<arm>/part-0.parquet" for t in TABLES},
            "dependencies": dependency_versions(),
        })
        return summaries
    except BaseException:
        for w in writers:
            try:
                w.abort()
            except Exception:
                pass
        folder.abort()
        raise


@dataclass
class RunResult:
    """Result of :func:`jaksim.run`: Arrow tables of summary, events and patients."""

    summary: pa.Table
    events: pa.Table
    patients: pa.Table
    out: Path | None


def read_dataset(out: Path, table: str) -> pa.Table:
    """Read one table of a run folder with its ``arm`` partition column."""
    import pyarrow.dataset as ds
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


def run(scenario: Scenario, *, out: str | Path | None = None, overwrite: bool = False,
        threads: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress: Callable[[int], None] | None = None) -> RunResult:
    """Simulate a scenario; write to ``out`` if given, else to a temporary folder read back in memory."""
    model = build_model(scenario)
    if out is not None:
        out = Path(out)
        run_to_folder(model, out, chunk_size=chunk_size, threads=threads, overwrite=overwrite,
                      progress=progress)
        return RunResult(read_dataset(out, "summary"), read_dataset(out, "events"),
                         read_dataset(out, "patients"), out)
    with tempfile.TemporaryDirectory(prefix="jaksim-") as tmp:
        target = Path(tmp) / "run"
        run_to_folder(model, target, chunk_size=chunk_size, threads=threads, progress=progress)
        return RunResult(read_dataset(target, "summary"), read_dataset(target, "events"),
                         read_dataset(target, "patients"), None)
