"""The one chunk loop: patients in chunks through the kernel for every arm.

Chunks are the outer loop and arms the inner one, so each chunk's cohort is made once and
simulated under every arm with the same random streams (common random numbers). Each chunk
and arm is handed, as an :class:`ArmChunk`, to a list of consumers (Parquet writers, summary
and contrast accumulators, PSA totals); ``jaksim run``, the in-memory API, every PSA draw and
the one-way analysis all go through :func:`run_chunks`. Memory is bounded by the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np

from jaksim.codes import HOSPITALISED, POST_HERPETIC_NEURALGIA
from jaksim.cohort.patients import Cohort
from jaksim.economics.costs_qalys import patient_economics, screening_costs, vzv_costs
from jaksim.errors import JaksimError
from jaksim.kernel.inputs import ArmInputs, arm_inputs, chunk_inputs
from jaksim.kernel.sampling import simulate
from jaksim.model.hazards import ArmSpec
from jaksim.model.spec import Model
from jaksim.model.vaccination import Schedule
from jaksim.output.tables import phn_per_patient
from jaksim.run.schedules import Schedules, with_disease_activity

#: patients per parallel task of the kernel: 2,048 keeps per-block set-up (scratch clocks, first
#: uniforms, the call into the patient loop with its flattened named inputs) small against the work
#: (M0 kernel CPU, session 8: 1,024 cost 8-9% more, 4,096 about as much as 2,048 with only 16 tasks
#: per chunk; earlier, 256 cost 3.5% more than 1,024) and 128 tasks per chunk of 2**18 for the threads
#: to take from (``kernel.atomic``; session 11 with those: 4,096 the same, 0.998 (CI 0.977-1.015),
#: 1,024 3% slower)
BLOCK_SIZE = 2048
#: most events one patient may have (``model.bounds`` refuses models expecting more than a tenth
#: of this), and the largest event buffer of a chunk: beyond either, an error instead of an ever
#: larger buffer (issue 17, finding 6)
MAX_EVENTS_PER_PATIENT = 100_000
MAX_EVENT_BUFFER_BYTES = 4 << 30
#: bytes per event slot of the kernel's buffer (patient id, type, time, number, flags)
EVENT_SLOT_BYTES = 8 + 2 + 8 + 4 + 1


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


def initial_cap(spec: ArmSpec, horizon: float) -> int:
    """Event-buffer slots per kernel block to start with: twice the expected events of a block
    at the arm's highest rates over ``horizon`` years (a block that overflows is rerun)."""
    per_patient = float(np.nansum(np.nanmax(spec.base_rate, axis=1) * spec.tot_mult.max(axis=1))) * horizon
    return int(BLOCK_SIZE * per_patient * 2.0) + 64


def kernel_arm_inputs(model: Model, arm: ArmSpec) -> ArmInputs:
    """The kernel's inputs of ``arm`` that are the same in every chunk (checked once per run)."""
    keys = (model.clock_keys, model.cons_keys, model.death_key, model.disc_key)
    return arm_inputs(arm, keys, model.cohort.age_advances, float(model.scenario.horizon_years))


def simulate_chunk(model: Model, arm: ArmSpec, cohort: Cohort, cap: int, schedule: Schedule | None = None,
                   prepared: ArmInputs | None = None) -> tuple[ChunkResult, int]:
    """Run the kernel on one chunk; rerun with a larger event buffer if a block overflowed.

    ``prepared``: ``kernel_arm_inputs(model, arm)``, when the caller made it once for many chunks.
    """
    sched = schedule if schedule is not None else model.unvaccinated(len(cohort))
    inputs = chunk_inputs(prepared if prepared is not None else kernel_arm_inputs(model, arm), cohort, sched)
    while True:
        patients, events, block_counts = simulate(inputs, BLOCK_SIZE, cap, numba.get_num_threads())
        need = int(block_counts.max()) if block_counts.size else 0
        if need <= cap:
            break
        _check_events_per_patient(arm, cohort, patients.event_counts)
        cap = int(need * 1.25) + 16
        if block_counts.size * cap * EVENT_SLOT_BYTES > MAX_EVENT_BUFFER_BYTES:
            raise JaksimError(f"arm '{arm.name}': a chunk of {len(cohort):,} patients has blocks of up to {need:,} "
                              f"events, more than an event buffer of {MAX_EVENT_BUFFER_BYTES >> 30} GiB holds; "
                              "give a smaller --chunk-size, or lower the rates or hazard ratios")
    return ChunkResult(patients.follow_up_years, patients.exit_reason, patients.stop_time_years,
                       patients.event_counts, patients.first_event_years,
                       events.patient_id, events.type, events.time_years, events.number, events.flags), cap


def _check_events_per_patient(arm: ArmSpec, cohort: Cohort, counts: np.ndarray) -> None:
    """A one-line error when a patient had more than ``MAX_EVENTS_PER_PATIENT`` events."""
    per_patient = counts.sum(axis=1, dtype=np.int64)
    worst = int(np.argmax(per_patient)) if per_patient.size else 0
    if per_patient.size and per_patient[worst] > MAX_EVENTS_PER_PATIENT:
        k = int(np.argmax(counts[worst]))
        raise JaksimError(f"arm '{arm.name}': patient {int(cohort.patient_id[worst])} had {int(per_patient[worst]):,} "
                          f"events ({int(counts[worst, k]):,} of '{arm.types[k]}'), more than the "
                          f"{MAX_EVENTS_PER_PATIENT:,} per patient jaksim simulates; lower the rates or hazard ratios")


def set_threads(threads: int | None) -> int:
    """Set numba's thread count for this process (1 .. number of cores; None: all)."""
    limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import, untyped
    n = limit if threads is None else threads
    if not 1 <= n <= limit:
        raise JaksimError(f"--threads {threads} is out of range; allowed: 1 to {limit} on this machine")
    numba.set_num_threads(n)
    return n


def chunk_economics(model: Model, arm_index: int, cohort: Cohort, r: ChunkResult,
                    sched: Schedule) -> dict[str, np.ndarray]:
    """Per-patient costs, QALYs and life-years of one chunk and arm (``economics.patient_economics``)."""
    spec = model.economics[arm_index]
    activity = None
    if spec.disease_activity is not None:
        from jaksim.kernel.rng import uniforms
        activity = (uniforms(model.activity_keys[0], cohort.patient_id, 0),
                    uniforms(model.activity_keys[1], cohort.patient_id, 0))
    screening = None
    if spec.screening is not None and sched.screening is not None:
        screening = screening_costs(spec.screening, sched.screening)
    if spec.vzv is not None and sched.vzv is not None:
        screening = vzv_costs(spec.vzv, sched.vzv) + (0.0 if screening is None else screening)
    return patient_economics(
        model.economics[arm_index], cohort.age, model.cohort.age_advances, float(model.scenario.horizon_years),
        r.follow_up, r.exit_reason, sched.treatment_start, r.stop_time, sched.dose1, sched.dose2,
        r.ev_pid - cohort.patient_id[0], r.ev_type, r.ev_time, (r.ev_flags & HOSPITALISED) != 0,
        (r.ev_flags & POST_HERPETIC_NEURALGIA) != 0, activity, screening)


@dataclass(frozen=True)
class ArmChunk:
    """One chunk simulated under one arm: what every consumer of the chunk loop receives.

    ``index`` is the arm's position (0: the reference arm, handed over first in every chunk);
    ``phn`` / ``phn_first`` are per-patient post-herpetic neuralgia counts and first times
    (years); ``economics`` the per-patient costs and QALYs, or None without economics.
    """

    index: int
    arm: ArmSpec
    start: int
    cohort: Cohort
    schedule: Schedule
    result: ChunkResult
    phn: np.ndarray
    phn_first: np.ndarray
    economics: dict[str, np.ndarray] | None


class ChunkConsumer(Protocol):
    """Anything that takes each chunk and arm in turn (writer, accumulator)."""

    def add(self, item: ArmChunk) -> None: ...


class Cohorts:
    """Cohort chunks and each arm's vaccination schedules, made from ``model``.

    ``keep``: cohorts of at most this many patients are kept in memory after first use (a PSA
    reuses the first draw's chunks and schedules in every draw); larger ones are rebuilt.
    """

    def __init__(self, model: Model, chunk_size: int, keep: int = 0):
        self.model = model
        self.schedules = Schedules(model, chunk_size)
        self._keep = model.scenario.n_patients <= keep
        self._cache: dict[tuple, object] = {}

    def cohort(self, start: int, stop: int) -> Cohort:
        """Patients ``start`` .. ``stop - 1``."""
        key = (start, stop)
        found = self._cache.get(key)
        if found is None:
            found = self.model.cohort.block(start, stop)
            if self._keep:
                self._cache[key] = found
        return found  # type: ignore[return-value]

    def schedule(self, arm: ArmSpec, cohort: Cohort) -> Schedule:
        """``arm``'s schedule for ``cohort`` (a chunk made by :meth:`cohort`)."""
        key = (int(cohort.patient_id[0]), len(cohort), arm.name) if len(cohort) else None
        found = self._cache.get(key) if key is not None else None
        if found is None:
            found = self.schedules.chunk(arm, cohort)
            if self._keep and key is not None:
                self._cache[key] = found
        return found  # type: ignore[return-value]


def run_chunks(model: Model, cohorts: Cohorts, start: int, stop: int, chunk_size: int, caps: dict[str, int],
               consumers: Sequence[ChunkConsumer], progress: Callable[[int], None] | None = None) -> None:
    """Patients ``start`` .. ``stop - 1`` in chunks of ``chunk_size``, each under every arm.

    Parameters
    ----------
    model : Model
        The resolved model (its arms, stream keys and economics are used).
    cohorts : Cohorts
        Where the chunks' patients and schedules come from.
    start, stop, chunk_size : int
        Patient-id range and chunk length; the last chunk is cut at ``stop``.
    caps : dict
        Event-buffer size per arm name; updated in place when a chunk needed more.
    consumers : sequence of ChunkConsumer
        Each gets every :class:`ArmChunk`, chunk by chunk, reference arm first.
    progress : callable, optional
        Called with the number of patients after each chunk and arm.
    """
    economics = bool(model.economics)
    prepared = [kernel_arm_inputs(model, arm) for arm in model.arms]
    for lo in range(start, stop, chunk_size):
        hi = min(stop, lo + chunk_size)
        cohort = cohorts.cohort(lo, hi)
        for a, arm in enumerate(model.arms):
            sched = cohorts.schedule(arm, cohort)
            if economics and model.economics[a].disease_activity is not None:
                sched = with_disease_activity(sched, model, a, cohort.patient_id)
            r, caps[arm.name] = simulate_chunk(model, arm, cohort, caps[arm.name], sched, prepared[a])
            phn, phn_first = phn_per_patient(r, len(cohort), lo)
            pe = chunk_economics(model, a, cohort, r, sched) if economics else None
            item = ArmChunk(a, arm, lo, cohort, sched, r, phn, phn_first, pe)
            for consumer in consumers:
                consumer.add(item)
            if progress:
                progress(hi - lo)
