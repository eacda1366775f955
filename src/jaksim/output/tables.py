"""Arrow record batches of the ``events`` and ``patients`` tables, built without Python loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from jaksim.codes import (
    EXIT_REASONS,
    FATAL,
    HOSPITALISED,
    ON_TREATMENT,
    POST_HERPETIC_NEURALGIA,
    SERIOUS,
    STOPS_TREATMENT,
)
from jaksim.cohort.patients import Cohort
from jaksim.output.arrow import column, dictionary
from jaksim.scenario.schema import BINARY_COVARIATES, GLUCOCORTICOID_BANDS, INDICATIONS, REGIONS

DICT8 = pa.dictionary(pa.int8(), pa.string())


def _nullable(x: np.ndarray) -> pa.Array:
    """Float column with null where the value is NaN or infinite (never happened)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    return column(x, mask=~np.isfinite(x))


def schemas(types: tuple[str, ...], economics: bool = False) -> dict[str, pa.Schema]:
    events = pa.schema([
        ("patient_id", pa.int64()), ("draw", pa.int32()), ("type", DICT8), ("event_number", pa.int32()),
        ("time_years", pa.float64()), ("age_at_event_years", pa.float64()), ("on_treatment", pa.bool_()),
        ("hospitalised", pa.bool_()), ("serious", pa.bool_()), ("fatal", pa.bool_()),
        ("stops_treatment", pa.bool_()), ("post_herpetic_neuralgia", pa.bool_())])
    pfields = [("patient_id", pa.int64()), ("draw", pa.int32()), ("age_years", pa.float64())]
    pfields += [(c, pa.bool_()) for c in BINARY_COVARIATES]
    pfields += [("glucocorticoid_band", DICT8), ("indication", DICT8), ("region", DICT8),
                ("follow_up_years", pa.float64()),
                ("exit_reason", DICT8), ("treatment_start_years", pa.float64()),
                ("treatment_stop_years", pa.float64()), ("on_treatment_years", pa.float64()),
                ("vaccine_dose1_years", pa.float64()), ("vaccine_dose2_years", pa.float64())]
    for t in types:
        pfields += [(f"{t}_events", pa.int32()), (f"{t}_first_years", pa.float64())]
    pfields += [("post_herpetic_neuralgia_events", pa.int32())]
    if economics:
        from jaksim.economics.costs_qalys import OUTCOMES
        pfields += [(o, pa.float64()) for o in OUTCOMES]
    return {"events": events, "patients": pa.schema(pfields)}


def event_batch(schema: pa.Schema, types, cohort: Cohort, r, draw: int) -> pa.RecordBatch:
    idx = r.ev_pid - cohort.patient_id[0]
    f = r.ev_flags
    return pa.RecordBatch.from_arrays([
        column(r.ev_pid), column(np.full(r.ev_pid.shape[0], draw, np.int32)),
        dictionary(r.ev_type, types),
        column(r.ev_num), column(r.ev_time), column(cohort.age[idx] + r.ev_time),
        column((f & ON_TREATMENT) != 0), column((f & HOSPITALISED) != 0), column((f & SERIOUS) != 0),
        column((f & FATAL) != 0), column((f & STOPS_TREATMENT) != 0),
        column((f & POST_HERPETIC_NEURALGIA) != 0)], schema=schema)


def patient_batch(schema: pa.Schema, types, cohort: Cohort, r, schedule, phn: np.ndarray,
                  draw: int, economics: dict[str, np.ndarray] | None = None) -> pa.RecordBatch:
    n = len(cohort)
    start = schedule.treatment_start
    on_end = np.where(np.isnan(r.stop_time), r.follow_up, r.stop_time)
    on_years = np.maximum(on_end - np.minimum(start, r.follow_up), 0.0)
    cols = [column(cohort.patient_id), column(np.full(n, draw, np.int32)), column(cohort.age)]
    cols += [column(cohort.covariates[:, c] != 0) for c in range(len(BINARY_COVARIATES))]
    cols += [dictionary(cohort.gc_band, GLUCOCORTICOID_BANDS), dictionary(cohort.indication, INDICATIONS),
             dictionary(cohort.region, REGIONS), column(r.follow_up), dictionary(r.exit_reason, EXIT_REASONS),
             _nullable(np.where(start < r.follow_up, start, np.inf)), _nullable(r.stop_time),
             column(on_years),
             _nullable(np.where(schedule.dose1 < r.follow_up, schedule.dose1, np.inf)),   # given before exit
             _nullable(np.where(schedule.dose2 < r.follow_up, schedule.dose2, np.inf))]
    for k in range(len(types)):
        cols += [column(np.ascontiguousarray(r.counts[:, k])),
                 _nullable(np.ascontiguousarray(r.first_time[:, k]))]
    cols += [column(phn.astype(np.int32))]
    if economics is not None:
        cols += [column(economics[name]) for name in schema.names[len(cols):]]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def phn_per_patient(r, n: int, first_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Post-herpetic neuralgia episodes per patient and the time of the first (NaN if none)."""
    sel = (r.ev_flags & POST_HERPETIC_NEURALGIA) != 0
    ids = r.ev_pid[sel] - first_id
    counts = np.bincount(ids, minlength=n).astype(np.int32)
    first = np.full(n, np.nan)
    if ids.size:
        uniq, pos = np.unique(ids, return_index=True)   # events are in patient, then time order
        first[uniq] = r.ev_time[sel][pos]
    return counts, first
