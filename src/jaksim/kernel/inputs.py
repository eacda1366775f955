"""The kernel's inputs and outputs as named structures, built and checked in one place.

``kernel.sampling.simulate`` takes one ``KernelInputs``: the chunk's patients
(``CohortArrays``), the arm's hazards (``HazardArrays``), the patients' vaccination and treatment
start (``VaccinationArrays``), what an event leads to (``ConsequenceArrays``) and the random
stream keys (``StreamKeys``). They are NamedTuples of numpy arrays and scalars, which numba
compiles as structs (``parallel=True`` and ``cache=True`` alike), so the kernel reads every
array by name and two arrays of the same shape can no longer be swapped silently.

The builders below are the only place these structures are made: each checks every field's
dtype and shape (dimensions named K types, I indications, C covariates, A ages, G
time-on-treatment edges, T taper steps, V vaccine age groups, S waning steps, n patients) and
raises a one-line ``ValueError`` (wrong dtype or shape) or ``TypeError`` (not an array, not a
number) naming the field. Times are in years since the planned
treatment start, rates per patient-year.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from jaksim.codes import GLUCOCORTICOID_BANDS, REGIONS

if TYPE_CHECKING:
    from jaksim.cohort.patients import Cohort
    from jaksim.model.hazards import ArmSpec
    from jaksim.model.vaccination import Schedule


class CohortArrays(NamedTuple):
    """Baseline characteristics of a chunk's patients, one row per patient."""

    patient_id: np.ndarray           # (n,) int64: keys every random stream of the patient
    age_years: np.ndarray            # (n,) float64 at the planned treatment start
    covariates: np.ndarray           # (n, C) uint8 0/1; column 0 is sex (1 female: mortality row)
    glucocorticoid_band: np.ndarray  # (n,) int8: 0 none, 1 <= 5, 2 > 5-10, 3 > 10 mg/day at start
    indication: np.ndarray           # (n,) int8: column of ``base_rate_per_year``
    region: np.ndarray               # (n,) int8: column of ``region_hazard_ratio`` (0 unspecified)


class HazardArrays(NamedTuple):
    """One arm's hazards: λ_k = base × covariate HRs × age × glucocorticoid × treatment factors."""

    age_advances: bool                      # completed age changes at birthdays (else baseline age)
    horizon_years: float
    base_rate_per_year: np.ndarray          # (K, I) by indication
    log_hazard_ratio: np.ndarray            # (K, C) natural-log HR of each binary covariate
    glucocorticoid_hazard_ratio: np.ndarray  # (K, B) by glucocorticoid band
    region_hazard_ratio: np.ndarray         # (K, R) by region
    age_log_hazard_ratio_per_year: np.ndarray  # (K,) baseline-age model: HR = exp(x (age - ref))
    reference_age_years: np.ndarray         # (K,)
    age_hazard_ratio_by_age: np.ndarray     # (K, A) advancing-age model: HR by completed age
    time_on_treatment_edges_years: np.ndarray  # (G,) where the time-on-treatment multiplier changes
    time_on_treatment_multiplier: np.ndarray   # (K, G + 1)
    off_treatment_hazard_ratio: np.ndarray  # (K,) before the start and after stopping treatment
    taper_times_years: np.ndarray           # (T,) glucocorticoid taper steps
    taper_band: np.ndarray                  # (T,) int8: highest band from that step on
    mortality_rate_per_year: np.ndarray     # (2, A) background mortality [male, female] by age
    discontinuation_rate_per_year: float    # treatment discontinuation, from the actual start
    frailty_variance: np.ndarray            # (K,) variance θ_k of the gamma frailty (mean 1; 0: none)


class VaccinationArrays(NamedTuple):
    """Per patient: treatment start, vaccine doses, screening and disease-activity factors; per
    arm: the efficacy table and the disease-activity multipliers (the patient's care pathway)."""

    treatment_start_years: np.ndarray   # (n,) float64: > 0 when the start waits for vaccination
    dose1_years: np.ndarray             # (n,) float64, +inf when not vaccinated
    dose2_years: np.ndarray             # (n,) float64, +inf without a second dose
    efficacy_scale: np.ndarray          # (n,) float64 multiplier of the efficacy (0: unvaccinated)
    age_group: np.ndarray               # (n,) int8 row of ``efficacy_table`` (age at first dose)
    efficacy_table: np.ndarray          # (V, 3, S) efficacy by age group, doses received, waning step
    waning_step_years: float            # length of a waning step
    target: np.ndarray                  # (K,) uint8: 1 for the types the vaccine protects against
    patient_hazard_ratio: np.ndarray    # (n, K) per patient and type from the arm's screening
    #                                     (latent TB: 0 for a patient who cannot have the type); (0, K): all 1
    controlled_from_years: np.ndarray   # (n,) disease controlled from (+inf: never); (0,): no disease activity
    controlled_until_years: np.ndarray  # (n,) ... until (before treatment stop); (0,) without
    activity_hazard_ratio: np.ndarray   # (2, K) hazard multiplier uncontrolled / controlled; (0, K) without


class ConsequenceArrays(NamedTuple):
    """What an event of each type leads to (probabilities per event)."""

    recurrent: np.ndarray       # (K,) uint8: 1 when a type can happen again
    p_fatal: np.ndarray         # (K,) case fatality
    p_hospitalised: np.ndarray  # (K,)
    p_serious: np.ndarray       # (K,)
    p_stop: np.ndarray          # (K,) treatment stopped after an event on treatment
    p_phn_by_age: np.ndarray    # (K, A) post-herpetic neuralgia by completed age


class StreamKeys(NamedTuple):
    """Squares keys of the kernel's random streams (``codes.STREAMS``)."""

    clock: np.ndarray        # (K,) uint64: "clock/<type>"
    consequence: np.ndarray  # (K,) uint64: "consequence/<type>"
    death: np.uint64         # "death/background"
    discontinuation: np.uint64  # "treatment/discontinuation"


class KernelInputs(NamedTuple):
    """Everything ``kernel.sampling.simulate`` reads for one chunk and arm."""

    cohort: CohortArrays
    hazards: HazardArrays
    vaccination: VaccinationArrays
    consequences: ConsequenceArrays
    keys: StreamKeys


class PatientOutputs(NamedTuple):
    """Per patient of the chunk (rows in input order)."""

    follow_up_years: np.ndarray   # (n,) float64: exit time (death or horizon)
    exit_reason: np.ndarray       # (n,) int8: ``codes.EXIT_*``
    stop_time_years: np.ndarray   # (n,) float64: treatment stop (NaN when never stopped)
    event_counts: np.ndarray      # (n, K) int32
    first_event_years: np.ndarray  # (n, K) float64, NaN without an event


class EventBuffer(NamedTuple):
    """Events, one slot each (patient order, time order within a patient)."""

    patient_id: np.ndarray  # int64
    type: np.ndarray        # int16: row of the type
    time_years: np.ndarray  # float64
    number: np.ndarray      # int32: 1 for the patient's first event of the type
    flags: np.ndarray       # uint8: ``codes`` event flag bits


_F8, _I1, _U1 = np.dtype(np.float64), np.dtype(np.int8), np.dtype(np.uint8)
_I8, _U8 = np.dtype(np.int64), np.dtype(np.uint64)
#: per-type tables by glucocorticoid band and by region: as many columns as there are codes
_K_BANDS, _K_REGIONS = f"K {len(GLUCOCORTICOID_BANDS)}", f"K {len(REGIONS)}"


@lru_cache(maxsize=64)
def _dimensions(shape: str) -> tuple[tuple[str, int | None], ...]:
    """``"K 3"`` as ((name, fixed size or None), ...); parsed once per spelling (checks run per chunk)."""
    return tuple((name, int(name) if name.isdigit() else None) for name in shape.split())


class _Checker:
    """Checks fields against named dimensions; the first array that fixes a dimension sets it."""

    def __init__(self, **dims: int) -> None:
        self.dims: dict[str, int] = dict(dims)

    def __call__(self, field: str, value: Any, dtype: np.dtype, shape: str) -> Any:
        """Return ``value`` when it is an array of ``dtype`` with the dimensions ``shape``."""
        want = _dimensions(shape)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"kernel input {field}: expected a numpy array, got {type(value).__name__}")
        if value.dtype != dtype or value.ndim != len(want):
            raise ValueError(f"kernel input {field}: expected {dtype} with dimensions "
                             f"({', '.join(n for n, _ in want)}), got {value.dtype} {value.shape}")
        for (name, fixed), size in zip(want, value.shape, strict=True):
            expected = fixed if fixed is not None else self.dims.setdefault(name, size)
            if size != expected:
                raise ValueError(f"kernel input {field}: dimension {name} is {size}, expected {expected} "
                                 f"(shape {value.shape})")
        return value

    def scalar(self, field: str, value: Any, kind: type) -> Any:
        """``value`` as a Python ``kind`` (float or bool), or TypeError naming the field."""
        if kind is bool and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"kernel input {field}: expected a bool, got {value!r}")
        if kind is float and not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"kernel input {field}: expected a number, got {value!r}")
        return kind(value)


def cohort_arrays(cohort: Cohort, check: _Checker | None = None) -> CohortArrays:
    """The kernel's view of a chunk's cohort (``cohort.patients.Cohort``), checked.

    Parameters
    ----------
    cohort : Cohort
        A chunk's patients (patient_id, age, covariates, gc_band, indication, region).
    check : optional
        The checker holding dimensions fixed by other inputs.

    Returns
    -------
    CohortArrays
    """
    c = check or _Checker()
    return CohortArrays(
        patient_id=c("cohort.patient_id", cohort.patient_id, _I8, "n"),
        age_years=c("cohort.age_years", cohort.age, _F8, "n"),
        covariates=c("cohort.covariates", cohort.covariates, _U1, "n C"),
        glucocorticoid_band=c("cohort.glucocorticoid_band", cohort.gc_band, _I1, "n"),
        indication=c("cohort.indication", cohort.indication, _I1, "n"),
        region=c("cohort.region", cohort.region, _I1, "n"))


def hazard_arrays(arm: ArmSpec, age_advances: bool, horizon_years: float,
                  check: _Checker | None = None) -> HazardArrays:
    """One arm's hazards (``model.hazards.ArmSpec``) for the kernel, checked.

    Parameters
    ----------
    arm : ArmSpec
        The arm resolved against the library.
    age_advances : bool
        Completed age (birthdays are change points) rather than baseline age.
    horizon_years : float
        Follow-up of every patient, years.
    check : optional
        The checker holding dimensions fixed by other inputs.

    Returns
    -------
    HazardArrays
    """
    c = check or _Checker()
    return HazardArrays(
        age_advances=c.scalar("hazards.age_advances", age_advances, bool),
        horizon_years=c.scalar("hazards.horizon_years", horizon_years, float),
        base_rate_per_year=c("hazards.base_rate_per_year", arm.base_rate, _F8, "K I"),
        log_hazard_ratio=c("hazards.log_hazard_ratio", arm.log_hr, _F8, "K C"),
        glucocorticoid_hazard_ratio=c("hazards.glucocorticoid_hazard_ratio", arm.hr_gc, _F8, _K_BANDS),
        region_hazard_ratio=c("hazards.region_hazard_ratio", arm.region_hr, _F8, _K_REGIONS),
        age_log_hazard_ratio_per_year=c("hazards.age_log_hazard_ratio_per_year", arm.age_log_hr, _F8, "K"),
        reference_age_years=c("hazards.reference_age_years", arm.ref_age, _F8, "K"),
        age_hazard_ratio_by_age=c("hazards.age_hazard_ratio_by_age", arm.age_hr_table, _F8, "K A"),
        time_on_treatment_edges_years=c("hazards.time_on_treatment_edges_years", arm.tot_edges, _F8, "G"),
        time_on_treatment_multiplier=_tot_multiplier(c, arm.tot_mult),
        off_treatment_hazard_ratio=c("hazards.off_treatment_hazard_ratio", arm.off_hr, _F8, "K"),
        taper_times_years=c("hazards.taper_times_years", arm.taper_times, _F8, "T"),
        taper_band=c("hazards.taper_band", arm.taper_band, _I1, "T"),
        mortality_rate_per_year=c("hazards.mortality_rate_per_year", arm.mortality, _F8, "2 A"),
        discontinuation_rate_per_year=c.scalar("hazards.discontinuation_rate_per_year",
                                               arm.discontinuation_rate, float),
        frailty_variance=c("hazards.frailty_variance", _frailty_variance(arm), _F8, "K"))


def _frailty_variance(arm: ArmSpec) -> np.ndarray:
    """The arm's frailty variances (K,), zeros when the arm has none."""
    if arm.frailty_variance is None:
        return np.zeros(arm.base_rate.shape[0])
    return arm.frailty_variance


def _tot_multiplier(c: _Checker, value: np.ndarray) -> np.ndarray:
    """The (K, G + 1) time-on-treatment multiplier: one column more than there are edges."""
    c("hazards.time_on_treatment_multiplier", value, _F8, "K G1")
    if "G" in c.dims and value.shape[1] != c.dims["G"] + 1:
        raise ValueError(f"kernel input hazards.time_on_treatment_multiplier: {value.shape[1]} columns, "
                         f"expected {c.dims['G'] + 1} (one more than time_on_treatment_edges_years)")
    return value


def vaccination_arrays(arm: ArmSpec, schedule: Schedule, check: _Checker | None = None) -> VaccinationArrays:
    """Patients' treatment start and doses (``model.vaccination.Schedule``) and the arm's efficacy.

    Parameters
    ----------
    arm : ArmSpec
        Supplies the efficacy table, waning step and target types.
    schedule : Schedule
        Per-patient dose and start times of the chunk.
    check : optional
        The checker holding dimensions fixed by other inputs.

    Returns
    -------
    VaccinationArrays
    """
    c = check or _Checker()
    return _schedule_arrays(_arm_vaccination(arm, c), schedule, c)


def _arm_vaccination(arm: ArmSpec, c: _Checker) -> dict[str, Any]:
    """The arm's part of ``VaccinationArrays`` (efficacy table, waning step, target types), checked."""
    return {"efficacy_table": c("vaccination.efficacy_table", arm.ve_table, _F8, "V 3 S"),
            "waning_step_years": c.scalar("vaccination.waning_step_years", arm.ve_step, float),
            "target": c("vaccination.target", arm.ve_target, _U1, "K")}


def _schedule_arrays(arm_part: dict[str, Any], schedule: Schedule, c: _Checker) -> VaccinationArrays:
    """``VaccinationArrays`` of a chunk: its patients' schedule, checked, with the arm's part."""
    n_types = arm_part["target"].shape[0]
    return VaccinationArrays(
        treatment_start_years=c("vaccination.treatment_start_years", schedule.treatment_start, _F8, "n"),
        dose1_years=c("vaccination.dose1_years", schedule.dose1, _F8, "n"),
        dose2_years=c("vaccination.dose2_years", schedule.dose2, _F8, "n"),
        efficacy_scale=c("vaccination.efficacy_scale", schedule.scale, _F8, "n"),
        age_group=c("vaccination.age_group", schedule.groups(), _I1, "n"),
        patient_hazard_ratio=_patient_hazard_ratio(c, schedule, n_types),
        **arm_part, **_disease_activity(c, schedule, n_types))


def _disease_activity(c: _Checker, schedule: Schedule, n_types: int) -> dict[str, Any]:
    """The schedule's controlled intervals and the arm's multipliers, or empty arrays without them."""
    if schedule.activity_hazard_ratio is None:
        return {"controlled_from_years": np.empty(0), "controlled_until_years": np.empty(0),
                "activity_hazard_ratio": np.ones((0, n_types))}
    return {"controlled_from_years": c("vaccination.controlled_from_years", schedule.controlled_from, _F8, "n"),
            "controlled_until_years": c("vaccination.controlled_until_years", schedule.controlled_until, _F8, "n"),
            "activity_hazard_ratio": c("vaccination.activity_hazard_ratio", schedule.activity_hazard_ratio, _F8,
                                       "2 K")}


def _patient_hazard_ratio(c: _Checker, schedule: Schedule, n_types: int) -> np.ndarray:
    """The (n, K) per-patient hazard ratios of the schedule, or an empty (0, K) array when all are 1."""
    if schedule.hazard_ratio is None:
        return np.ones((0, n_types))
    return c("vaccination.patient_hazard_ratio", schedule.hazard_ratio, _F8, "n K")


def consequence_arrays(arm: ArmSpec, check: _Checker | None = None) -> ConsequenceArrays:
    """What an event of each type of the arm leads to, checked.

    Parameters
    ----------
    arm : ArmSpec
        The arm resolved against the library.
    check : optional
        The checker holding dimensions fixed by other inputs.

    Returns
    -------
    ConsequenceArrays
    """
    c = check or _Checker()
    return ConsequenceArrays(
        recurrent=c("consequences.recurrent", arm.recurrent, _U1, "K"),
        p_fatal=c("consequences.p_fatal", arm.p_fatal, _F8, "K"),
        p_hospitalised=c("consequences.p_hospitalised", arm.p_hosp, _F8, "K"),
        p_serious=c("consequences.p_serious", arm.p_serious, _F8, "K"),
        p_stop=c("consequences.p_stop", arm.p_stop, _F8, "K"),
        p_phn_by_age=c("consequences.p_phn_by_age", arm.p_phn_age, _F8, "K A"))


def stream_keys(clock: np.ndarray, consequence: np.ndarray, death: Any, discontinuation: Any,
                check: _Checker | None = None) -> StreamKeys:
    """The kernel's stream keys (``kernel.rng.stream_key``), checked.

    Parameters
    ----------
    clock, consequence : ndarray of uint64, (K,)
        Keys of "clock/<type>" and "consequence/<type>", in the order of the arm's types.
    death, discontinuation : numpy.uint64
        Keys of "death/background" and "treatment/discontinuation".
    check : optional
        The checker holding dimensions fixed by other inputs.

    Returns
    -------
    StreamKeys
    """
    c = check or _Checker()
    for field, key in (("keys.death", death), ("keys.discontinuation", discontinuation)):
        if not isinstance(key, np.uint64):
            raise TypeError(f"kernel input {field}: expected a numpy.uint64 key, got {key!r}")
    return StreamKeys(clock=c("keys.clock", clock, _U8, "K"),
                      consequence=c("keys.consequence", consequence, _U8, "K"),
                      death=death, discontinuation=discontinuation)


class ArmInputs(NamedTuple):
    """The per-arm part of the kernel's inputs, checked once and reused for every chunk of a run
    (the checks cost about 100 µs per chunk, 2-3% of M0's simulation with 2 threads)."""

    hazards: HazardArrays
    consequences: ConsequenceArrays
    keys: StreamKeys
    vaccination: dict[str, Any]              # the arm's fields of VaccinationArrays
    dimensions: tuple[tuple[str, int], ...]  # sizes the arm fixed (K, I, C, A, G, ...)


def arm_inputs(arm: ArmSpec, keys: tuple[Any, Any, Any, Any], age_advances: bool,
               horizon_years: float) -> ArmInputs:
    """The kernel's inputs that do not change between chunks of an arm, checked against each other.

    Parameters
    ----------
    arm : ArmSpec
        The arm's hazards, consequences and vaccine efficacy.
    keys : tuple
        (clock keys, consequence keys, death key, discontinuation key), as ``stream_keys`` takes them.
    age_advances : bool
        Completed age (birthdays are change points) rather than baseline age.
    horizon_years : float
        Follow-up of every patient, years.

    Returns
    -------
    ArmInputs
        For :func:`chunk_inputs`.

    Raises
    ------
    ValueError, TypeError
        As :func:`kernel_inputs`.
    """
    c = _Checker()
    hazards = hazard_arrays(arm, age_advances, horizon_years, c)
    vaccination = _arm_vaccination(arm, c)
    consequences = consequence_arrays(arm, c)
    stream = stream_keys(keys[0], keys[1], keys[2], keys[3], c)
    return ArmInputs(hazards, consequences, stream, vaccination, tuple(c.dims.items()))


def chunk_inputs(arm: ArmInputs, cohort: Cohort, schedule: Schedule) -> KernelInputs:
    """Every input of the kernel for one chunk: the arm's (checked once) with the chunk's patients
    and schedule, checked against them.

    Parameters
    ----------
    arm : ArmInputs
        From :func:`arm_inputs`.
    cohort : Cohort
        The chunk's patients.
    schedule : Schedule
        The chunk's treatment start and vaccine doses under this arm.

    Returns
    -------
    KernelInputs
    """
    c = _Checker(**dict(arm.dimensions))
    return KernelInputs(cohort=cohort_arrays(cohort, c), hazards=arm.hazards,
                        vaccination=_schedule_arrays(arm.vaccination, schedule, c),
                        consequences=arm.consequences, keys=arm.keys)


def kernel_inputs(arm: ArmSpec, cohort: Cohort, schedule: Schedule, keys: tuple[Any, Any, Any, Any], age_advances: bool,
                  horizon_years: float) -> KernelInputs:
    """Every input of the kernel for one chunk and arm, checked against each other.

    ``chunk_inputs(arm_inputs(arm, keys, age_advances, horizon_years), cohort, schedule)``; a run
    makes the arm's part once (``run.chunks``).

    Parameters
    ----------
    arm : ArmSpec
        The arm's hazards, consequences and vaccine efficacy.
    cohort : Cohort
        The chunk's patients.
    schedule : Schedule
        The chunk's treatment start and vaccine doses under this arm.
    keys : tuple
        (clock keys, consequence keys, death key, discontinuation key), as ``stream_keys`` takes them.
    age_advances : bool
        Completed age (birthdays are change points) rather than baseline age.
    horizon_years : float
        Follow-up of every patient, years.

    Returns
    -------
    KernelInputs

    Raises
    ------
    ValueError
        One line naming the first field of the wrong dtype or shape.
    TypeError
        One line naming the first field that is not an array, number, bool or uint64 key.
    """
    return chunk_inputs(arm_inputs(arm, keys, age_advances, horizon_years), cohort, schedule)
