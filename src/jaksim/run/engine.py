"""Engine: chunks of patients through the kernel for every arm, streamed to Parquet.

Chunks are the outer loop and arms the inner one, so each chunk's cohort is made once and
simulated under every arm with the same random streams (common random numbers). Memory is
bounded by the chunk size, whatever the number of patients.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numba
import numpy as np
import pyarrow as pa

from jaksim import __version__
from jaksim.analysis.accumulators import EconomicsAccumulator, PairedContrast, SummaryAccumulator
from jaksim.cohort.patients import Cohort, CohortSource
from jaksim.economics.costs_qalys import OUTCOMES as ECON_OUTCOMES
from jaksim.economics.costs_qalys import patient_economics
from jaksim.economics.costs_qalys import resolve as resolve_economics
from jaksim.scenario.schema import Scenario
from jaksim.errors import JaksimError, OutputError
from jaksim.model.hazards import ZOSTER, ArmSpec, build_arms
from jaksim.output.parquet import TABLES, OutputFolder, RowGroupWriter, WriteQueue, with_metadata
from jaksim.kernel.sampling import HOSPITALISED, POST_HERPETIC_NEURALGIA, compact, simulate
from jaksim.library import load_library
from jaksim.run.memory import keep_freed_memory
from jaksim.pathway.clinic import PathwayResult, run_pathway
from jaksim.output.tables import event_batch, patient_batch, phn_per_patient, schemas
from jaksim.kernel.rng import stream_key
from jaksim.model.vaccination import Schedule, accepts, completes, direct_schedule, eligible, finish_schedule

PHN = "post_herpetic_neuralgia"

DEFAULT_CHUNK_SIZE = 1 << 16
#: patients per checkpoint segment: one Parquet part of events and of patients per arm each
CHECKPOINT_PATIENTS = 1 << 22
#: patients per parallel task of the kernel: 1,024 keeps per-block set-up (scratch arrays,
#: first uniforms) small against the work (256: +3.5% kernel time on M0) and 64 tasks per chunk
BLOCK_SIZE = 1024


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
    economics: tuple = ()        # per arm: economics.EconSpec, or () without an economics section
    #: no_schedule arrays by chunk length, made once per model: filling four fresh arrays for
    #: every chunk cost 0.5 ms each (7.7 ms per 10^6 patients, mostly page faults). Read only.
    _unvaccinated: dict = field(default_factory=dict, repr=False, compare=False)

    def unvaccinated(self, n: int) -> Schedule:
        """``no_schedule(n)``, shared between chunks of the same length (never written)."""
        sched = self._unvaccinated.get(n)
        if sched is None:
            sched = self._unvaccinated[n] = no_schedule(n)
        return sched


def build_model(scenario: Scenario, draw: int = 0, library=None, economics_library: dict | None = None) -> Model:
    """Resolve a validated scenario against the library (raises JaksimError on bad input).

    ``library`` / ``economics_library`` replace the package's libraries (a PSA draw's values).
    """
    library = library if library is not None else load_library()
    keep_freed_memory()          # chunks reuse freed pages instead of faulting in new ones
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
        economics=tuple(resolve_economics(a.economics, types, a.vaccination, economics_library)
                        for a in scenario.arms) if scenario.arms[0].economics is not None else (),
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


def no_schedule(n: int) -> Schedule:
    """Nobody vaccinated, everybody starts treatment at t = 0."""
    return Schedule(np.full(n, np.inf), np.full(n, np.inf), np.zeros(n), np.zeros(n), np.zeros(n, np.int8))


def simulate_chunk(model: Model, arm: ArmSpec, cohort: Cohort, cap: int,
                   schedule: Schedule | None = None) -> tuple[ChunkResult, int]:
    """Run the kernel on one chunk; rerun with a larger event buffer if a block overflowed."""
    sc = model.scenario
    sched = schedule if schedule is not None else model.unvaccinated(len(cohort))
    while True:
        (fu, ex, st, counts, first, pid, typ, tim, num, flags, block_counts) = simulate(
            cohort.patient_id, cohort.age, cohort.covariates, cohort.gc_band, cohort.indication,
            model.cohort.age_advances, float(sc.horizon_years),
            arm.base_rate, arm.log_hr, arm.hr_gc, arm.age_log_hr, arm.ref_age, arm.age_hr_table,
            arm.tot_edges, arm.tot_mult, arm.off_hr, arm.recurrent, arm.p_fatal, arm.p_hosp,
            arm.p_serious, arm.p_stop, arm.discontinuation_rate, arm.taper_times, arm.taper_band,
            arm.mortality, model.clock_keys, model.cons_keys, model.death_key, model.disc_key,
            sched.treatment_start, sched.dose1, sched.dose2, sched.scale, sched.groups(), arm.ve_table,
            arm.ve_step,
            arm.ve_target, arm.p_phn_age, BLOCK_SIZE, cap)
        need = int(block_counts.max()) if block_counts.size else 0
        if need <= cap:
            break
        cap = int(need * 1.25) + 16
    pid, typ, tim, num, flags = compact(block_counts, cap, pid, typ, tim, num, flags)
    return ChunkResult(fu, ex, st, counts, first, pid, typ, tim, num, flags), cap


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


class Schedules:
    """Each arm's vaccination schedule for any chunk; capacity-limited arms via the SimPy pathway.

    The pathway couples patients (they share clinic slots), so it runs once over the whole
    cohort before the chunks; direct schedules are computed chunk by chunk.
    """

    def __init__(self, model: Model, chunk_size: int):
        self.model = model
        self.pathways: dict[str, PathwayResult] = {}
        sc = model.scenario
        for arm in model.arms:
            v = arm.vaccination
            if v is None or v.clinic is None:
                continue
            offered = np.zeros(sc.n_patients, dtype=bool)
            second = np.zeros(sc.n_patients, dtype=bool)
            for start in range(0, sc.n_patients, chunk_size):
                c = model.cohort.block(start, min(sc.n_patients, start + chunk_size))
                offered[start:start + len(c)] = (eligible(v, c.age, c.gc_band, c.covariates)
                                                 & accepts(v, sc.seed, c.patient_id))
                second[start:start + len(c)] = completes(v, sc.seed, c.patient_id)
            self.pathways[arm.name] = run_pathway(v, sc.seed, offered, second)

    def chunk(self, arm: ArmSpec, cohort: Cohort) -> Schedule:
        v, seed = arm.vaccination, self.model.scenario.seed
        if v is None:
            return self.model.unvaccinated(len(cohort))
        if v.clinic is None:
            s = direct_schedule(v, seed, cohort.patient_id, cohort.age, cohort.gc_band, cohort.covariates,
                                arm.jak_inhibitor)
        else:
            p = self.pathways[arm.name]
            lo, hi = int(cohort.patient_id[0]), int(cohort.patient_id[-1]) + 1
            s = finish_schedule(v, seed, cohort.patient_id, cohort.age, cohort.gc_band, arm.jak_inhibitor,
                                p.dose1[lo:hi], p.dose2[lo:hi])
        return s


def chunk_economics(model: Model, arm_index: int, cohort: Cohort, r: ChunkResult,
                    sched: Schedule) -> dict[str, np.ndarray]:
    """Per-patient costs, QALYs and life-years of one chunk and arm (``economics.patient_economics``)."""
    return patient_economics(
        model.economics[arm_index], cohort.age, model.cohort.age_advances, float(model.scenario.horizon_years),
        r.follow_up, r.exit_reason, sched.treatment_start, r.stop_time, sched.dose1, sched.dose2,
        r.ev_pid - cohort.patient_id[0], r.ev_type, r.ev_time, (r.ev_flags & HOSPITALISED) != 0,
        (r.ev_flags & POST_HERPETIC_NEURALGIA) != 0)


class VaccinationStats:
    """Per-arm counts of vaccinated patients and their timing relative to treatment start."""

    def __init__(self) -> None:
        self.n = self.vaccinated = self.two_doses = self.before_start = self.delayed_start = 0

    def add(self, sched: Schedule, follow_up: np.ndarray) -> None:
        """Doses count only when given: before the patient's exit (death or horizon)."""
        vacc = sched.dose1 < follow_up
        self.n += vacc.shape[0]
        self.vaccinated += int(vacc.sum())
        self.two_doses += int((sched.dose2 < follow_up).sum())
        self.before_start += int((vacc & (sched.dose1 < sched.treatment_start)).sum())
        self.delayed_start += int((sched.treatment_start > 0).sum())

    def as_dict(self, pathway: PathwayResult | None) -> dict:
        out = {"n_patients": self.n, "n_vaccinated": self.vaccinated, "n_two_doses": self.two_doses,
               "share_vaccinated": self.vaccinated / max(self.n, 1),
               "share_of_vaccinated_dosed_before_treatment_start": self.before_start / max(self.vaccinated, 1),
               "n_treatment_start_delayed": self.delayed_start}
        if pathway is not None:
            w = pathway.wait_weeks[np.isfinite(pathway.wait_weeks)]
            out.update({"pathway_seconds": pathway.seconds,
                        "wait_weeks_mean": float(w.mean()) if w.size else None,
                        "wait_weeks_median": float(np.median(w)) if w.size else None,
                        "wait_weeks_p90": float(np.quantile(w, 0.9)) if w.size else None})
        return out


@dataclass
class RunSummary:
    """What a run prints: summary per arm, paired contrasts versus the reference arm, vaccination."""

    summaries: dict[str, pa.Table]
    contrasts: dict[str, pa.Table]
    vaccination: dict[str, dict]
    economics: dict[str, pa.Table] | None = None


def outcomes(model: Model) -> tuple[str, ...]:
    """Outcomes counted per patient: the infection types, plus PHN when zoster is simulated."""
    return model.types + ((PHN,) if ZOSTER in model.types else ())


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run whose completed segments were kept for ``--resume``."""


def _fingerprint(model: Model, draw: int, chunk_size: int, checkpoint_patients: int) -> str:
    """What a resumed run must share with the run it continues: version, resolved scenario,
    draw, chunking (float accumulations follow the chunk order)."""
    text = json.dumps([__version__, model.scenario.model_dump_json(), draw, chunk_size, checkpoint_patients])
    return hashlib.sha256(text.encode()).hexdigest()


def run_to_folder(model: Model, out: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE, threads: int | None = None,
                  overwrite: bool = False, draw: int = 0,
                  progress: Callable[[int], None] | None = None, resume: bool = False,
                  checkpoint_patients: int = CHECKPOINT_PATIENTS) -> "RunSummary":
    """Simulate every arm and write the dataset to ``out``; return what a run prints.

    Events and patients are written in segments of ``checkpoint_patients`` (one Parquet part
    per segment and arm); after each segment the accumulators are saved, so that a killed or
    interrupted run continues with ``resume=True`` from the last completed segment, giving the
    same files, byte for byte, as an uninterrupted run.
    """
    if chunk_size < 1 or chunk_size > 1 << 26:
        raise JaksimError(f"--chunk-size {chunk_size} is out of range; allowed: 1 to {1 << 26}")
    if checkpoint_patients < 1:
        raise JaksimError(f"--checkpoint-every {checkpoint_patients} is out of range; allowed: 1 or more patients")
    set_threads(threads)
    sc = model.scenario
    schedules = Schedules(model, chunk_size)
    names = outcomes(model)
    reference = model.arms[0].name
    fingerprint = _fingerprint(model, draw, chunk_size, checkpoint_patients)
    folder = OutputFolder(out, overwrite, resume=resume)
    writers: list[RowGroupWriter] = []
    queue = WriteQueue()
    try:
        econ = bool(model.economics)
        sch = schemas(model.types, economics=econ)
        state = {"kind": "run", "fingerprint": fingerprint, "next_start": 0,
                 "caps": {arm.name: _initial_cap(arm, sc.horizon_years) for arm in model.arms},
                 "acc": {arm.name: SummaryAccumulator(names) for arm in model.arms},
                 "contrasts": {arm.name: PairedContrast(names) for arm in model.arms[1:]},
                 "vstats": {arm.name: VaccinationStats() for arm in model.arms},
                 "eacc": {arm.name: EconomicsAccumulator(ECON_OUTCOMES) for arm in model.arms} if econ else {}}
        if folder.resumed:
            saved = read_checkpoint(folder.checkpoint)
            if saved.get("kind") != "run":
                raise OutputError(f"--resume: what was left next to '{out}' is an interrupted PSA, not a run; "
                                  "continue it with 'jaksim psa --resume', or give --overwrite without --resume")
            if saved.get("fingerprint") != fingerprint:
                raise OutputError(
                    f"--resume: the interrupted run to '{out}' was made with other settings (scenario, "
                    "seed, number of patients, chunk size, checkpoint interval or jaksim version); "
                    "rerun it with the same ones, or give --overwrite without --resume to start again")
            state = saved
            if progress:
                progress(state["next_start"] * len(model.arms))
        acc, contrasts, vstats, eacc, caps = (state[k] for k in ("acc", "contrasts", "vstats", "eacc", "caps"))
        for seg_start in range(state["next_start"], sc.n_patients, checkpoint_patients):
            seg_stop = min(sc.n_patients, seg_start + checkpoint_patients)
            part = seg_start // checkpoint_patients
            w_ev, w_pat = {}, {}
            for arm in model.arms:
                w_ev[arm.name] = RowGroupWriter(folder.path("events", arm.name, part),
                                                with_metadata(sch["events"], file_metadata(model, arm, "events", draw)))
                w_pat[arm.name] = RowGroupWriter(folder.path("patients", arm.name, part), with_metadata(
                    sch["patients"], file_metadata(model, arm, "patients", draw)))
                writers += [w_ev[arm.name], w_pat[arm.name]]
            _simulate_segment(model, schedules, seg_start, seg_stop, chunk_size, draw, sch, names, econ,
                              w_ev, w_pat, acc, contrasts, vstats, eacc, caps, progress, queue)
            queue.drain()
            for w in writers:
                w.close()
            writers = []
            state["next_start"] = seg_stop
            if seg_stop < sc.n_patients:
                save_checkpoint(folder.checkpoint, state)
        queue.close()
        def write_small(table_name: str, arm: ArmSpec, table: pa.Table) -> pa.Table:
            """One small per-arm table (summary, contrasts, economics) as its own file."""
            w = RowGroupWriter(folder.path(table_name, arm.name),
                               with_metadata(table.schema, file_metadata(model, arm, table_name, draw)))
            writers.append(w)
            w.write(table.to_batches()[0])
            return table

        summaries = {}
        for arm in model.arms:
            table = acc[arm.name].table(sc.horizon_years)
            table = table.add_column(1, "draw", pa.array(np.full(table.num_rows, draw, np.int32)))
            summaries[arm.name] = write_small("summary", arm, table)
        contrast_tables = {arm.name: write_small("contrasts", arm, contrasts[arm.name].table(arm.name, reference))
                           for arm in model.arms[1:]}
        econ_tables = {arm.name: write_small("economics", arm,
                                             eacc[arm.name].table(arm.name, reference, model.economics[a]))
                       for a, arm in enumerate(model.arms) if econ}
        vaccination = {name: v.as_dict(schedules.pathways.get(name)) for name, v in vstats.items()}
        written = [t for t in TABLES if t != "contrasts" or contrast_tables] + (["economics"] if econ else [])
        for w in writers:
            w.close()
        writers = []
        n_parts = (sc.n_patients + checkpoint_patients - 1) // checkpoint_patients
        folder.commit({
            "jaksim_version": __version__, "scenario": sc.name, "seed": sc.seed, "draw": draw,
            "n_patients": sc.n_patients, "horizon_years": sc.horizon_years,
            "arms": [a.name for a in model.arms], "infection_types": list(model.types),
            "tables": {t: f"{t}/arm=<arm>/part-00000.parquet" if t not in ("events", "patients") or n_parts == 1
                       else f"{t}/arm=<arm>/part-<k>.parquet, k = 00000..{n_parts - 1:05d}" for t in written},
            "checkpoint_patients": checkpoint_patients,
            "reference_arm": reference,
            "vaccination": vaccination,
            "dependencies": dependency_versions(),
            **({"willingness_to_pay": list(model.economics[0].willingness_to_pay),
                "currency": model.economics[0].currency} if econ else {}),
        })
        return RunSummary(summaries, contrast_tables, vaccination, econ_tables or None)
    except BaseException as exc:
        queue.close(cancel=True)                 # no write may run while the writers are aborted
        for w in writers:
            try:
                w.abort()
            except Exception:
                pass
        # completed segments are kept when the run may be continued: Ctrl-C, an OS error such as a
        # full disk, or any failure of a resumed run (its partial folder was there before)
        keep = folder.checkpoint.is_file() and (isinstance(exc, (KeyboardInterrupt, OSError)) or folder.resumed)
        if not keep:
            folder.abort()
        if keep and isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
            done = read_checkpoint(folder.checkpoint)["next_start"]
            raise RunInterrupted(f"interrupted; the first {done:,} of {sc.n_patients:,} patients are kept: run "
                                 "the same command with --resume to continue") from None
        raise


def read_checkpoint(path: Path) -> dict:
    """The state a killed or interrupted run or PSA saved (see ``save_checkpoint``)."""
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise OutputError(f"--resume: the checkpoint '{path}' cannot be read ({type(exc).__name__}); give "
                          "--overwrite without --resume to start again") from None
    if not isinstance(state, dict):
        raise OutputError(f"--resume: '{path}' is not a jaksim checkpoint; give --overwrite without --resume")
    return state


def save_checkpoint(path: Path, state: dict) -> None:
    """The accumulators after a completed segment, written atomically (temp file, rename).

    A pickle (the accumulators hold exact Python-int sums); it is read back only by ``--resume``
    from the hidden folder next to the user's own results folder."""
    tmp = path.with_name(path.name + ".writing")
    with open(tmp, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _simulate_segment(model: Model, schedules: Schedules, seg_start: int, seg_stop: int, chunk_size: int,
                      draw: int, sch: dict, names: tuple, econ: bool, w_ev: dict, w_pat: dict, acc: dict,
                      contrasts: dict, vstats: dict, eacc: dict, caps: dict,
                      progress: Callable[[int], None] | None, queue: WriteQueue) -> None:
    """Patients seg_start..seg_stop-1 chunk by chunk under every arm: queue their events and
    patient rows for writing, add them to the accumulators."""
    for start in range(seg_start, seg_stop, chunk_size):
        stop = min(seg_stop, start + chunk_size)
        cohort = model.cohort.block(start, stop)
        ref_counts = ref_econ = None
        for a, arm in enumerate(model.arms):
            sched = schedules.chunk(arm, cohort)
            r, caps[arm.name] = simulate_chunk(model, arm, cohort, caps[arm.name], sched)
            vstats[arm.name].add(sched, r.follow_up)
            phn, phn_first = phn_per_patient(r, len(cohort), start)
            pe = chunk_economics(model, a, cohort, r, sched) if econ else None
            if econ:
                eacc[arm.name].add(pe, ref_econ)
                ref_econ = pe if ref_econ is None else ref_econ
            queue.put(w_ev[arm.name], event_batch(sch["events"], model.types, cohort, r, draw))
            queue.put(w_pat[arm.name], patient_batch(sch["patients"], model.types, cohort, r, sched, phn, draw, pe))
            counts, first = r.counts, r.first_time
            if len(names) > len(model.types):
                counts = np.column_stack([counts, phn])
                first = np.column_stack([first, phn_first])
            acc[arm.name].add(r.follow_up, r.exit_reason, r.stop_time, counts, first)
            if ref_counts is None:
                ref_counts = counts
            else:
                contrasts[arm.name].add(ref_counts, counts, sched.dose1 < r.follow_up)
            if progress:
                progress(stop - start)


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
