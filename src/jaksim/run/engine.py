"""Engine: a scenario's every arm through the chunk loop, streamed to a Parquet results folder.

``run_to_folder`` writes the patients in segments of ``checkpoint_patients`` (one Parquet part
of events and of patients per segment and arm); after each segment the run's state is saved
(``run/checkpoint.py``), so that a killed or interrupted run continues with ``resume=True``
and ends with the same files, byte for byte. ``run`` is the in-memory API on top of it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from jaksim import __version__
from jaksim.analysis.cycles import cycle_bounds
from jaksim.errors import JaksimError
from jaksim.model.spec import Model, build_model
from jaksim.output.arrow import column
from jaksim.output.parquet import (
    PARTITION_KEY,
    TABLES,
    OutputFolder,
    RowGroupWriter,
    WriteQueue,
    unwritable,
    with_metadata,
)
from jaksim.output.provenance import dependency_versions, file_metadata
from jaksim.output.tables import event_batch, patient_batch, schemas
from jaksim.run import checkpoint
from jaksim.run.chunks import ArmChunk, Cohorts, run_chunks, set_threads
from jaksim.run.schedules import Schedules, clinic_summary, screening_outcomes
from jaksim.run.settings import CHECKPOINT_PATIENTS, default_chunk_size, pending_batches
from jaksim.run.totals import RunState, RunTotals
from jaksim.scenario.schema import Scenario


@dataclass
class RunSummary:
    """What a run prints: summary per arm, paired contrasts versus the reference arm, vaccination."""

    summaries: dict[str, pa.Table]
    contrasts: dict[str, pa.Table]
    vaccination: dict[str, dict]
    economics: dict[str, pa.Table] | None = None
    cycles: dict[str, pa.Table] | None = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run whose completed segments were kept for ``--resume``."""


class SegmentWriters:
    """Chunk-loop consumer: one segment's events and patients, one Parquet part per arm,
    encoded on the write queue's thread."""

    def __init__(self, folder: OutputFolder, model: Model, draw: int, part: int, queue: WriteQueue,
                 opened: list[RowGroupWriter]):
        self.model, self.draw, self.queue = model, draw, queue
        self.schemas = schemas(model.types, economics=bool(model.economics))
        self.writers: dict[str, tuple[RowGroupWriter, RowGroupWriter]] = {}
        for arm in model.arms:
            pair = tuple(RowGroupWriter(folder.path(t, arm.name, part),
                                        with_metadata(self.schemas[t], file_metadata(model, arm, t, draw)))
                         for t in ("events", "patients"))
            opened += pair
            self.writers[arm.name] = pair      # type: ignore[assignment]

    def add(self, item: ArmChunk) -> None:
        """Queue the chunk's event rows and patient rows of ``item.arm``."""
        w_ev, w_pat = self.writers[item.arm.name]
        types, r = self.model.types, item.result
        self.queue.put(w_ev, event_batch(self.schemas["events"], types, item.cohort, r, self.draw))
        self.queue.put(w_pat, patient_batch(self.schemas["patients"], types, item.cohort, r, item.schedule,
                                            item.phn, self.draw, item.economics))


def check_settings(chunk_size: int | None, checkpoint_patients: int, threads: int | None) -> None:
    """One-line errors for out-of-range run settings (before anything is written); a chunk size
    of None is the default (``run.settings.default_chunk_size``)."""
    if chunk_size is not None and (chunk_size < 1 or chunk_size > 1 << 26):
        raise JaksimError(f"--chunk-size {chunk_size} is out of range; allowed: 1 to {1 << 26}")
    if checkpoint_patients < 1:
        raise JaksimError(f"--checkpoint-every {checkpoint_patients} is out of range; allowed: 1 or more patients")
    set_threads(threads)


def run_to_folder(model: Model, out: Path, *, chunk_size: int | None = None, threads: int | None = None,
                  overwrite: bool = False, draw: int = 0,
                  progress: Callable[[int], None] | None = None, resume: bool = False,
                  checkpoint_patients: int = CHECKPOINT_PATIENTS, cycle_length: float | None = None,
                  folder: OutputFolder | None = None) -> RunSummary:
    """Simulate every arm and write the dataset to ``out``; return what a run prints.

    Parameters
    ----------
    model : Model
        The resolved scenario (``spec.build_model``).
    out : Path
        Results folder; built in a hidden sibling and renamed into place when complete.
    chunk_size : int, optional
        Patients per kernel chunk (memory bound); None: ``run.settings.default_chunk_size`` of
        the model's number of arms.
    checkpoint_patients : int
        Patients per checkpoint segment (Parquet part).
    threads : int, optional
        Numba threads (None: all cores).
    overwrite, resume : bool
        Replace an earlier jaksim result; continue a killed or interrupted run from its
        last checkpoint (same files, byte for byte, as an uninterrupted run).
    draw : int
        PSA draw number written with the results.
    cycle_length : float, optional
        Years per cycle of the per-cycle table ``cycles`` (Markov inputs); None: no such table.
    progress : callable, optional
        Called with a number of patients after each chunk and arm.
    folder : OutputFolder, optional
        The results folder, already made (``jaksim run`` makes it before building the model, so
        that a bad ``--out`` is reported first); ``overwrite`` and ``resume`` are then its own.
    """
    try:
        check_settings(chunk_size, checkpoint_patients, threads)
        bounds = None if cycle_length is None else cycle_bounds(float(model.scenario.horizon_years), cycle_length)
    except JaksimError:
        if folder is not None:
            folder.release() if folder.resumed else folder.abort()
        raise
    n = model.scenario.n_patients
    if chunk_size is None:
        chunk_size = default_chunk_size(len(model.arms))
    folder = folder if folder is not None else OutputFolder(out, overwrite, resume=resume)
    opened: list[RowGroupWriter] = []              # writers to abort if the run fails
    queue = WriteQueue(pending_batches(chunk_size))
    saved = 0                                      # patients covered by the checkpoint on disk
    try:
        cohorts = Cohorts(model, chunk_size)       # a capacity-limited clinic's pathway runs here
        fingerprint = checkpoint.run_fingerprint(model.scenario, draw, chunk_size, checkpoint_patients, cycle_length)
        state = RunState.fresh(model, fingerprint, bounds)
        finished: dict = {}                        # completed parts: relative path → [size, sha256]
        if folder.resumed:
            state, finished = checkpoint.read_run(folder.checkpoint, state, out, folder.result)
            saved = state.next_start
            if progress:
                progress(state.next_start * len(model.arms))
        totals = RunTotals(model, state.arms)
        for seg_start in range(state.next_start, n, checkpoint_patients):
            seg_stop = min(n, seg_start + checkpoint_patients)
            parts = SegmentWriters(folder, model, draw, seg_start // checkpoint_patients, queue, opened)
            run_chunks(model, cohorts, seg_start, seg_stop, chunk_size, state.caps, [parts, totals], progress)
            queue.drain()
            for w in opened:
                w.close()
            closed = [w.final for w in opened]
            opened.clear()
            state.next_start = seg_stop
            # a checkpoint after every segment, the last too: a run killed while its result is
            # put in place is finished by --resume without simulating again
            finished.update({p.relative_to(folder.result).as_posix(): checkpoint.part_record(p) for p in closed})
            checkpoint.save_run(folder.checkpoint, state, finished)
            saved = seg_stop
        queue.close()
        summary = _write_tables(folder, model, state, cohorts.schedules, draw, opened)
        folder.commit(_manifest(model, summary, draw, checkpoint_patients, cycle_length), known=finished)
        return summary
    except BaseException as exc:
        _abandon(exc, folder, queue, opened, saved, n)
        raise


def _abandon(exc: BaseException, folder: OutputFolder, queue: WriteQueue, opened: list[RowGroupWriter],
             saved: int, n: int) -> None:
    """After a failure: stop writing, keep the completed segments when the run may be continued
    (any failure but a user mistake, such as Ctrl-C, a full disk or a failed final write; any
    failure of a resumed run), else remove all."""
    queue.close(cancel=True)                 # no write may run while the writers are aborted
    for w in opened:
        with contextlib.suppress(Exception):    # the first error is the one to report
            w.abort()
    keep = folder.checkpoint.is_file() and (not isinstance(exc, JaksimError) or folder.resumed)
    if not keep:
        folder.abort()
    else:
        folder.release()
    if keep and isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
        raise RunInterrupted(f"interrupted; the first {saved:,} of {n:,} patients are kept: run "
                             "the same command with --resume to continue") from None
    if isinstance(exc, OSError):            # a full disk, a folder made read-only, ...
        kept = (f"; the first {saved:,} of {n:,} patients are kept: run the same command with --resume "
                "when there is room" if keep else "")
        raise unwritable(folder.final, exc, kept) from exc


def _write_tables(folder: OutputFolder, model: Model, state: RunState, schedules: Schedules, draw: int,
                  opened: list[RowGroupWriter]) -> RunSummary:
    """The small per-arm tables (summary, contrasts, economics), each as its own file."""
    reference = model.arms[0].name
    horizon = model.scenario.horizon_years

    def write_small(table_name: str, arm, table: pa.Table) -> pa.Table:
        # the folder ``arm=<arm>`` is the arm: a column of the same name inside the file would
        # clash with the partition key in pandas and pyarrow (string vs dictionary)
        on_disk = table.drop_columns([PARTITION_KEY]) if PARTITION_KEY in table.column_names else table
        w = RowGroupWriter(folder.path(table_name, arm.name),
                           with_metadata(on_disk.schema, file_metadata(model, arm, table_name, draw)))
        opened.append(w)
        w.write(on_disk.to_batches()[0])
        return table

    summaries, contrasts, economics, cycles = {}, {}, {}, {}
    for arm in model.arms:
        table = state.arms[arm.name].summary.table(horizon)
        table = table.add_column(1, "draw", column(np.full(table.num_rows, draw, np.int32)))
        summaries[arm.name] = write_small("summary", arm, table)
    for arm in model.arms[1:]:
        contrast = state.arms[arm.name].contrast
        assert contrast is not None
        contrasts[arm.name] = write_small("contrasts", arm, contrast.table(arm.name, reference))
    for a, arm in enumerate(model.arms):
        econ = state.arms[arm.name].economics
        if econ is not None:
            economics[arm.name] = write_small("economics", arm, econ.table(arm.name, reference, model.economics[a]))
    for arm in model.arms:
        acc = state.arms[arm.name].cycles
        if acc is not None:
            cycles[arm.name] = write_small("cycles", arm, acc.table(draw))
    vaccination = {name: t.vaccination.as_dict(schedules.pathways.get(name)) for name, t in state.arms.items()}
    for name, visits in schedules.screening.items():
        vaccination[name]["tb_screening"]["clinic"] = clinic_summary(visits)
    if any(arm.tb_screening is not None or arm.vzv is not None for arm in model.arms):
        cases = {name: dict(zip(t.column("type").to_pylist(), t.column("events").to_pylist(), strict=True))
                 for name, t in summaries.items()}
        screening_outcomes(vaccination, cases, reference)
    for w in opened:
        w.close()
    opened.clear()
    return RunSummary(summaries, contrasts, vaccination, economics or None, cycles or None)


def _manifest(model: Model, summary: RunSummary, draw: int, checkpoint_patients: int,
              cycle_length: float | None = None) -> dict:
    """``jaksim.json`` of a run folder (no timestamps: equal runs give equal manifests)."""
    sc, econ = model.scenario, bool(model.economics)
    written = [t for t in TABLES if t != "contrasts" or summary.contrasts] + (["economics"] if econ else [])
    written += ["cycles"] if summary.cycles else []
    n_parts = (sc.n_patients + checkpoint_patients - 1) // checkpoint_patients
    return {
        "jaksim_version": __version__, "scenario": sc.name, "seed": sc.seed, "draw": draw,
        "n_patients": sc.n_patients, "horizon_years": sc.horizon_years,
        "arms": [a.name for a in model.arms], "infection_types": list(model.types),
        "tables": {t: f"{t}/arm=<arm>/part-00000.parquet" if t not in ("events", "patients") or n_parts == 1
                   else f"{t}/arm=<arm>/part-<k>.parquet, k = 00000..{n_parts - 1:05d}" for t in written},
        "checkpoint_patients": checkpoint_patients,
        "reference_arm": model.arms[0].name,
        "vaccination": summary.vaccination,
        "dependencies": dependency_versions(),
        **({"willingness_to_pay": list(model.economics[0].willingness_to_pay),
            "currency": model.economics[0].currency} if econ else {}),
        **({"cycle_length_years": cycle_length} if summary.cycles else {}),
    }


@dataclass
class RunResult:
    """Result of :func:`jaksim.run`: Arrow tables of summary, events and patients; contrasts
    (two arms or more), economics (an economics section) and cycles (a cycle length) when the
    run has them, else None; the vaccination statistics per arm (as in ``jaksim.json``)."""

    summary: pa.Table
    events: pa.Table
    patients: pa.Table
    out: Path | None
    contrasts: pa.Table | None = None
    economics: pa.Table | None = None
    cycles: pa.Table | None = None
    vaccination: dict | None = None

    @classmethod
    def read(cls, folder: Path, out: Path | None) -> RunResult:
        """The tables of the run folder ``folder`` (read into memory)."""
        import json

        def optional(table: str) -> pa.Table | None:
            return read_dataset(folder, table) if (folder / table).is_dir() else None

        manifest = json.loads((folder / "jaksim.json").read_text(encoding="utf-8"))
        return cls(read_dataset(folder, "summary"), read_dataset(folder, "events"), read_dataset(folder, "patients"),
                   out, optional("contrasts"), optional("economics"), optional("cycles"), manifest.get("vaccination"))


def read_dataset(out: Path, table: str) -> pa.Table:
    """Read one table of a run folder with its ``arm`` partition column."""
    import pyarrow.dataset as ds
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


def run(scenario: Scenario, *, out: str | Path | None = None, overwrite: bool = False,
        threads: int | None = None, chunk_size: int | None = None,
        progress: Callable[[int], None] | None = None, cycle_length: float | None = None) -> RunResult:
    """Simulate a scenario; write to ``out`` if given, else to a temporary folder read back in memory."""
    if out is not None:
        out = Path(out)
        folder = OutputFolder(out, overwrite)          # --out checked before the model is built
        try:
            model = build_model(scenario)
        except BaseException:
            folder.abort()
            raise
        run_to_folder(model, out, chunk_size=chunk_size, threads=threads, progress=progress, folder=folder,
                      cycle_length=cycle_length)
        return RunResult.read(out, out)
    model = build_model(scenario)
    with tempfile.TemporaryDirectory(prefix="jaksim-") as tmp:
        target = Path(tmp) / "run"
        run_to_folder(model, target, chunk_size=chunk_size, threads=threads, progress=progress,
                      cycle_length=cycle_length)
        return RunResult.read(target, None)
