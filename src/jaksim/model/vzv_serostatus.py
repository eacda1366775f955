"""VZV serostatus at treatment start, serology and varicella vaccination: per-patient hazard ratios.

Zoster is reactivation of latent varicella-zoster virus, so a seronegative patient (no VZV
immunity, share q of the patient's region) cannot have it and can have primary varicella
instead. In an arm with ``vzv_screening``:

* zoster: HR_i = S_i / (1 − q_i) (S_i: seropositive), mean 1, so the library's zoster rate
  stays the population's;
* varicella: HR_i = (1 − S_i)(1 − P_i) on the library's force of infection among susceptibles
  (P_i: protected by two live varicella doses, all or nothing with probability ``protection``);
  P_i applies from the planned start (the 8-week course is short against the horizon).

Serology (sensitivity: detecting immunity; specificity: calling a seronegative one
seronegative) decides who is vaccinated; a seropositive patient testing seronegative is
vaccinated to no effect. A vaccinated patient gets dose 1 at the planned start and dose 2
``interval_years`` later, and starts treatment ``before_years`` after dose 2 (live vaccine).
Draws are keyed by patient (stream ``screening/vzv``): the same serostatus in every arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from jaksim.codes import REGIONS, VARICELLA, ZOSTER
from jaksim.errors import ScenarioError
from jaksim.kernel.keys import stream_key
from jaksim.library.entries import sourced
from jaksim.library.resolve import library_record
from jaksim.library.resolve import resolve as resolve_value
from jaksim.model.vaccination import WEEKS_PER_YEAR, Schedule
from jaksim.scenario.vzv import VzvScreening


@dataclass(frozen=True)
class VzvSpec:
    """One arm's VZV serostatus strategy with every number resolved (probabilities; years)."""

    serology: bool
    vaccinate_seronegative: bool
    zoster_vaccine_seropositive_only: bool
    seronegative_share: np.ndarray   # (R,) by region code (``codes.REGIONS``)
    sensitivity: float
    specificity: float
    protection: float
    interval_years: float
    before_years: float
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VzvOutcome:
    """Per patient of a chunk under one arm's strategy."""

    seronegative: np.ndarray       # bool: no VZV immunity at the start
    tested: np.ndarray             # bool: serology done
    test_seronegative: np.ndarray  # bool: serology says seronegative
    vaccinated: np.ndarray         # bool: two live varicella doses
    protected: np.ndarray          # bool: protected from varicella by them
    zoster_hazard_ratio: np.ndarray
    varicella_hazard_ratio: np.ndarray
    start_delay_years: np.ndarray



def resolve_vzv(s: VzvScreening, parameters: dict, error: Callable[[str], ScenarioError]) -> VzvSpec:
    """An arm's ``vzv_screening`` against the library (``varicella_zoster_serostatus``)."""
    lib = parameters.get("varicella_zoster_serostatus")
    if lib is None:
        raise error("the library has no varicella_zoster_serostatus section (parameters.yaml); use one that has it")
    prov: dict[str, Any] = {"strategy": s.model_dump()}
    shares = lib["seronegative_share"]
    if s.seronegative_share is not None:
        by_region = np.full(len(REGIONS), float(s.seronegative_share))
        prov["seronegative_share"] = {"value": s.seronegative_share, "source": "scenario file"}
    else:
        by_region = np.array([float(shares.get(r, shares["unspecified"])["value"]) for r in REGIONS])
        prov["seronegative_share"] = {r: library_record(sourced(e, "value")) for r, e in shares.items()}
        prov["seronegative_share"]["regions_not_listed"] = "the 'unspecified' share"
    if np.any(by_region >= 1.0):
        raise error("seronegative_share must be below 1 (zoster needs seropositive patients)")
    values: dict[str, float] = {}
    for name, given, entry in (("sensitivity", None, lib["serology"]["sensitivity"]),
                               ("specificity", None, lib["serology"]["specificity"]),
                               ("protection", s.protection, lib["vaccine"]["protection"]),
                               ("interval_weeks", s.interval_weeks, lib["vaccine"]["interval_weeks"]),
                               ("weeks_before_treatment", s.weeks_before_treatment,
                                lib["vaccine"]["weeks_before_treatment"])):
        values[name], prov[name] = resolve_value(given, sourced(entry, "value"), assumed=np.nan, why="")
    return VzvSpec(s.serology, s.vaccinate_seronegative, s.zoster_vaccine_seropositive_only, by_region,
                   values["sensitivity"], values["specificity"], values["protection"],
                   values["interval_weeks"] / WEEKS_PER_YEAR, values["weeks_before_treatment"] / WEEKS_PER_YEAR,
                   prov)


def vzv_screen(spec: VzvSpec, seed: int, patient_id: np.ndarray, region: np.ndarray) -> VzvOutcome:
    """Serostatus, serology, vaccination and hazard ratios of each patient (see the module)."""
    from jaksim.kernel.rng import uniforms  # numba: imported when patients are drawn
    key = stream_key(seed, "screening/vzv")
    u_status, u_test, u_protect = (uniforms(key, patient_id, c) for c in (0, 1, 2))
    q = spec.seronegative_share[region.astype(np.int64)]
    seroneg = u_status < q
    tested = np.full(seroneg.shape, spec.serology)
    p_neg = np.where(seroneg, spec.specificity, 1.0 - spec.sensitivity)
    test_neg = tested & (u_test < p_neg)
    vaccinated = test_neg & spec.vaccinate_seronegative
    protected = vaccinated & seroneg & (u_protect < spec.protection)
    delay = np.where(vaccinated, spec.interval_years + spec.before_years, 0.0)
    return VzvOutcome(seroneg, tested, test_neg, vaccinated, protected, np.where(seroneg, 0.0, 1.0 / (1.0 - q)),
                      np.where(seroneg & ~protected, 1.0, 0.0), delay)


def with_vzv(schedule: Schedule, spec: VzvSpec, types: tuple[str, ...], seed: int, patient_id: np.ndarray,
             region: np.ndarray) -> Schedule:
    """``schedule`` with the strategy applied: hazard ratios of zoster and varicella, the start
    after the varicella doses, and zoster doses only for those testing seropositive if asked."""
    out = vzv_screen(spec, seed, patient_id, region)
    hr = np.ones((patient_id.shape[0], len(types))) if schedule.hazard_ratio is None else schedule.hazard_ratio.copy()
    if ZOSTER in types:
        hr[:, types.index(ZOSTER)] *= out.zoster_hazard_ratio
    if VARICELLA in types:
        hr[:, types.index(VARICELLA)] *= out.varicella_hazard_ratio
    s = replace(schedule, treatment_start=np.maximum(schedule.treatment_start, out.start_delay_years),
                hazard_ratio=hr, vzv=out)
    if spec.zoster_vaccine_seropositive_only:
        skip = out.test_seronegative
        s = replace(s, dose1=np.where(skip, np.inf, s.dose1), dose2=np.where(skip, np.inf, s.dose2),
                    scale=np.where(skip, 0.0, s.scale))
    return s
