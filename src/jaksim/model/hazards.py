"""Model spec: a scenario arm resolved into plain numpy arrays for the kernel.

For patient i, infection type k and time t (years since the planned treatment start) the
hazard is

    λ_ik(t) = base_k(indication) × HR_age,k^((a_i(t) − ref_age_k)/10) × HR_GC,k(band_i(t))
              × Π_c HR_c,k^(x_ic) × [on treatment: ToT_k(t − start_i) | otherwise: HR_off,k]
              × (1 − VE_i(t))   for herpes zoster                                  (per year)

where a_i(t) is the baseline age (``age_advances: false``) or the completed age at t
(birthdays are change points), band_i(t) follows the glucocorticoid taper schedule, x_ic are
binary covariates (female, Asia, prior zoster, diabetes, zoster vaccinated before), start_i
is the treatment start (0 unless it waits for vaccination; before it and after stopping the
off-treatment ratio applies) and VE_i(t) the vaccine efficacy of the arm's strategy
(``vaccination.py``). Each value is taken from the scenario file when given there, otherwise
from the library (rates calibrated to their source populations, ``calibration.py``); where
neither has it, a neutral value is assumed and the provenance says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jaksim.model.calibration import calibrate
from jaksim.scenario.schema import (BINARY_COVARIATES, GLUCOCORTICOID_BANDS, INDICATIONS, Arm, Scenario)
from jaksim.errors import LibraryError
from jaksim.library import Library, LifeTable, Sourced, read_life_table
from jaksim.model.vaccination import vaccine_arrays

MAX_AGE = 120
SCENARIO = "scenario file"
_GC_KEYS = ("glucocorticoid_below_7_5mg", "glucocorticoid_7_5mg_or_more")
DEFAULT_REFERENCE_AGE = 50.0
ZOSTER = "herpes_zoster"


@dataclass(frozen=True)
class ArmSpec:
    """Every number the kernel needs for one arm, as arrays (rates per patient-year)."""

    name: str
    types: tuple[str, ...]
    base_rate: np.ndarray        # (K, n_indications) per PY
    log_hr: np.ndarray           # (K, n_binary_covariates) natural-log hazard ratios
    hr_gc: np.ndarray            # (K, 3) by band none / <7.5 / >=7.5 mg/day
    age_log_hr: np.ndarray       # (K,) log hazard ratio per year of age
    ref_age: np.ndarray          # (K,) years
    age_hr_table: np.ndarray     # (K, MAX_AGE+1) factor by completed age
    tot_edges: np.ndarray        # (G,) years on treatment where the multiplier changes
    tot_mult: np.ndarray         # (K, G+1)
    off_hr: np.ndarray           # (K,)
    recurrent: np.ndarray        # (K,) uint8
    p_fatal: np.ndarray          # (K,)
    p_hosp: np.ndarray           # (K,)
    p_serious: np.ndarray        # (K,)
    p_stop: np.ndarray           # (K,)
    discontinuation_rate: float  # per PY
    taper_times: np.ndarray      # (T,) years
    taper_band: np.ndarray       # (T,) int8 maximum band from that time
    mortality: np.ndarray        # (2, MAX_AGE+1) per PY, [male, female] by completed age
    ve_table: np.ndarray         # (G, 3, S) vaccine efficacy by age group, doses received, waning step
    ve_step: float               # years per waning step
    ve_target: np.ndarray        # (K,) uint8: 1 for types the vaccine protects against
    p_phn_age: np.ndarray        # (K, MAX_AGE+1) P(post-herpetic neuralgia | event) by completed age
    vaccination: object = None   # the arm's config.Vaccination (or None)
    jak_inhibitor: bool = True   # the arm's drug is a JAK inhibitor (vaccine response reduced on it)
    provenance: dict = field(default_factory=dict)


def _src(s: Sourced | None, fallback_note: str) -> dict:
    if s is None:
        return {"source": "assumption", "status": "assumption", "note": fallback_note}
    return {"source": "library", **s.provenance()}


def cohort_indications(scenario: Scenario) -> list[str]:
    c = scenario.cohort
    ind = getattr(c, "indication", None)
    if ind is None:
        return list(INDICATIONS)  # file cohort: resolved for every indication that has data
    return [ind] if isinstance(ind, str) else [k for k, v in ind.items() if v > 0]


def build_arm(scenario: Scenario, arm_index: int, library: Library,
              indications: list[str] | None = None) -> ArmSpec:
    """Resolve one arm of a scenario against the library into an ArmSpec."""
    arm: Arm = scenario.arms[arm_index]
    at = ("arms", arm_index)
    tr = arm.treatment
    try:
        doses = library.doses(tr.drug)
    except LibraryError as exc:
        raise scenario.error(at + ("treatment", "drug"), str(exc)) from None
    if float(tr.dose_mg) not in doses:
        raise scenario.error(at + ("treatment", "dose_mg"),
                             f"{tr.dose_mg:g} mg is not a dose of {tr.drug} in the parameter library; "
                             f"allowed: {', '.join(f'{d:g}' for d in doses)}")
    need_ind = indications or cohort_indications(scenario)
    strict_ind = indications is not None or getattr(scenario.cohort, "indication", None) is not None
    types = tuple(arm.infections)
    K, C = len(types), len(BINARY_COVARIATES)
    prov: dict = {"treatment": {"drug": tr.drug, "dose_mg": tr.dose_mg}, "infections": {}}
    base = np.full((K, len(INDICATIONS)), np.nan)
    log_hr = np.zeros((K, C))
    hr_gc = np.ones((K, 3))
    age_log_hr = np.zeros(K)
    ref_age = np.full(K, DEFAULT_REFERENCE_AGE)
    off_hr = np.ones(K)
    recurrent = np.zeros(K, np.uint8)
    p = {q: np.zeros(K) for q in ("case_fatality", "hospitalisation", "serious", "discontinuation")}
    edges = sorted({s.until_years for inf in arm.infections.values() for s in inf.time_on_treatment})
    tot_edges = np.array(edges, dtype=np.float64)
    tot_mult = np.ones((K, len(edges) + 1))

    for k, name in enumerate(types):
        inf = arm.infections[name]
        ip: dict = {}
        path = at + ("infections", name)
        # base rate per indication
        if inf.rate_per_100py is not None:
            base[k, :] = inf.rate_per_100py / 100.0
            ip["rate_per_100py"] = {"value": inf.rate_per_100py, "source": SCENARIO}
        else:
            found = {}
            for j, ind in enumerate(INDICATIONS):
                s = library.rate(tr.drug, tr.dose_mg, ind, name)
                if s is not None:
                    base[k, j] = s.value / 100.0
                    found[ind] = {"source": "library", **s.provenance(), **dict(s.extra)}
            missing = [i for i in need_ind if i not in found]
            if (strict_ind and missing) or not found:
                known = ("" if name in library.infection_types else
                         f" ('{name}' is not an infection type of the library, which has: "
                         f"{', '.join(library.infection_types)})")
                raise scenario.error(path, f"the parameter library has no rate for '{name}' on {tr.drug} "
                                     f"{tr.dose_mg:g} mg in {', '.join(missing or need_ind)}{known}; give "
                                     f"infections.{name}.rate_per_100py (events per 100 patient-years)")
            ip["rate_per_100py"] = found
        # hazard ratios
        hrs = inf.hazard_ratios
        age = hrs.age_per_10_years
        lib_age = library.hazard_ratio(name, "age_per_10_years")
        if age is None:
            age = lib_age.value if lib_age else 1.0
            ip["age_per_10_years"] = _src(lib_age, "no age effect assumed")
        else:
            ip["age_per_10_years"] = {"value": age, "source": SCENARIO}
        age_log_hr[k] = np.log(age) / 10.0
        if hrs.reference_age_years is not None:
            ref_age[k] = hrs.reference_age_years
            ip["reference_age_years"] = {"value": hrs.reference_age_years, "source": SCENARIO}
        elif lib_age is not None and dict(lib_age.extra).get("reference_age") is not None:
            ref_age[k] = dict(lib_age.extra)["reference_age"]
            ip["reference_age_years"] = {"value": ref_age[k], "source": "library", "citation": lib_age.citation}
        else:
            ip["reference_age_years"] = {"value": DEFAULT_REFERENCE_AGE, "source": "assumption"}
        for b, key in enumerate(_GC_KEYS, start=1):
            v = getattr(hrs, key)
            if v is None:
                s = library.hazard_ratio(name, key)
                v = s.value if s else 1.0
                ip[key] = _src(s, "no glucocorticoid effect assumed")
            else:
                ip[key] = {"value": v, "source": SCENARIO}
            hr_gc[k, b] = v
        for c, cov in enumerate(BINARY_COVARIATES):
            v = getattr(hrs, cov)
            if v is None:
                s = library.hazard_ratio(name, cov)
                v = s.value if s else 1.0
                ip[cov] = _src(s, f"no {cov} effect assumed")
            else:
                ip[cov] = {"value": v, "source": SCENARIO}
            log_hr[k, c] = np.log(v)
        # time on treatment
        for step in reversed(inf.time_on_treatment):
            g = edges.index(step.until_years)
            tot_mult[k, : g + 1] = step.hazard_ratio
        if inf.time_on_treatment:
            ip["time_on_treatment"] = {"value": [s.model_dump() for s in inf.time_on_treatment], "source": SCENARIO}
        # off treatment
        if inf.off_treatment_hazard_ratio is not None:
            off_hr[k] = inf.off_treatment_hazard_ratio
            ip["off_treatment_hazard_ratio"] = {"value": off_hr[k], "source": SCENARIO}
        elif tr.off_treatment_hazard_ratio is not None:
            off_hr[k] = tr.off_treatment_hazard_ratio
            ip["off_treatment_hazard_ratio"] = {"value": off_hr[k], "source": SCENARIO + " (treatment)"}
        else:
            s = library.off_treatment_hazard_ratio(name)
            off_hr[k] = s.value if s else 1.0
            ip["off_treatment_hazard_ratio"] = _src(s, "same hazard off treatment assumed")
        recurrent[k] = 1 if inf.recurrent else 0
        # consequences
        given = {"case_fatality": arm.mortality.case_fatality.get(name),
                 "hospitalisation": inf.hospitalisation_probability,
                 "serious": inf.serious_probability,
                 "discontinuation": inf.discontinuation_probability}
        for q, v in given.items():
            if v is None:
                s = library.consequence(name, q)
                v = s.value if s else 0.0
                ip[f"{q}_probability"] = _src(s, f"{q} not modelled (probability 0)")
            else:
                ip[f"{q}_probability"] = {"value": v, "source": SCENARIO}
            p[q][k] = v
        if inf.rate_per_100py is None:
            _calibrate(library, tr.drug, tr.dose_mg, name, ip["rate_per_100py"], base[k],
                       log_hr[k], hr_gc[k], age_log_hr[k], ref_age[k])
        if inf.background_incidence is not None:
            s = library.tuberculosis_setting_ratio(inf.background_incidence)
            if name != "tuberculosis" or s is None:
                raise scenario.error(path + ("background_incidence",),
                                     "background_incidence applies to the type 'tuberculosis' only "
                                     f"(got it on '{name}')")
            base[k, :] *= s.value          # after calibration: relative to the programme average
            ip["background_incidence"] = {"setting": inf.background_incidence, "source": "library",
                                          **s.provenance()}
        prov["infections"][name] = ip

    # treatment discontinuation
    if tr.discontinuation_rate_per_100py is not None:
        disc = tr.discontinuation_rate_per_100py / 100.0
        prov["discontinuation_rate_per_100py"] = {"value": tr.discontinuation_rate_per_100py, "source": SCENARIO}
    else:
        s = library.discontinuation(tr.drug)
        disc = s.value / 100.0 if s else 0.0
        prov["discontinuation_rate_per_100py"] = _src(s, "no discontinuation assumed")
    taper = sorted(tr.glucocorticoid_taper, key=lambda x: x.at_weeks)
    taper_times = np.array([t.at_weeks * 7.0 / 365.25 for t in taper], dtype=np.float64)
    taper_band = np.array([GLUCOCORTICOID_BANDS.index(t.max_band) for t in taper], dtype=np.int8)

    mortality, mprov = _mortality(scenario, arm_index, library)
    prov["mortality"] = mprov

    vacc = vaccine_arrays(arm.vaccination, scenario.horizon_years, library.vaccines)
    if arm.vaccination is not None:
        prov["vaccination"] = {"strategy": arm.vaccination.model_dump(), **vacc.provenance}
    ve_target = np.array([1 if t == ZOSTER else 0 for t in types], dtype=np.uint8)
    p_phn = np.zeros((K, MAX_AGE + 1))
    for k, name in enumerate(types):
        given = arm.infections[name].post_herpetic_neuralgia_probability
        if given is not None:
            p_phn[k] = given
            prov["infections"][name]["post_herpetic_neuralgia_probability"] = {"value": given, "source": SCENARIO}
        elif name == ZOSTER:
            rows = sorted(library.vaccines["post_herpetic_neuralgia"], key=lambda r: r["from_age_years"])
            for r in rows:
                p_phn[k, int(np.ceil(r["from_age_years"])):] = r["probability"]
            prov["infections"][name]["post_herpetic_neuralgia_probability"] = {"source": "library", "by_age": rows}

    age_grid = np.arange(MAX_AGE + 1, dtype=np.float64)
    age_hr_table = np.exp(age_log_hr[:, None] * (age_grid[None, :] - ref_age[:, None]))
    return ArmSpec(
        name=arm.name, types=types, base_rate=base, log_hr=log_hr, hr_gc=hr_gc,
        age_log_hr=age_log_hr, ref_age=ref_age, age_hr_table=age_hr_table,
        tot_edges=tot_edges, tot_mult=tot_mult, off_hr=off_hr, recurrent=recurrent,
        p_fatal=p["case_fatality"], p_hosp=p["hospitalisation"], p_serious=p["serious"],
        p_stop=p["discontinuation"], discontinuation_rate=float(disc),
        taper_times=taper_times, taper_band=taper_band, mortality=mortality,
        ve_table=vacc.ve_table, ve_step=vacc.step_years, ve_target=ve_target, p_phn_age=p_phn,
        vaccination=arm.vaccination, jak_inhibitor=library.drugs[tr.drug].get("drug_class") == "jak_inhibitor",
        provenance=prov)


def _calibrate(library: Library, drug: str, dose_mg: float, name: str, found: dict, base_k: np.ndarray,
               log_hr_k, hr_gc_k, age_log_hr_k, ref_age_k) -> None:
    """Replace published library rates by reference-patient rates under this arm's hazard ratios."""
    for j, ind in enumerate(INDICATIONS):
        entry = found.get(ind)
        if entry is None:
            continue
        pop = library.source_population(drug, dose_mg, name, ind)
        if pop is None:
            entry["calibration"] = (f"none: no described source population for this {ind} rate; the published "
                                    "rate is used as the reference patient's rate")
            continue
        cal = calibrate(entry["value"], entry.get("measure") or "first_event", pop,
                        log_hr_k, hr_gc_k, age_log_hr_k, ref_age_k)
        base_k[j] = cal.reference_rate_per_100py / 100.0
        entry["calibration"] = cal.provenance()


def _mortality(scenario: Scenario, arm_index: int, library: Library) -> tuple[np.ndarray, dict]:
    m = scenario.arms[arm_index].mortality
    path = ("arms", arm_index, "mortality")
    if m.rate_per_100py is not None:
        return (np.full((2, MAX_AGE + 1), m.rate_per_100py / 100.0),
                {"rate_per_100py": {"value": m.rate_per_100py, "source": SCENARIO}})
    name = m.life_table or library.default_life_table()
    if name is None:
        raise scenario.error(path, "no life table in the library; give mortality.rate_per_100py")
    try:
        if name.endswith(".csv"):
            p = Path(name)
            p = p if p.is_absolute() else scenario.base_dir / p
            if not p.is_file():
                raise LibraryError(f"life table file not found: '{p}'")
            table: LifeTable = read_life_table(p, name, Sourced(float("nan"), f"user file {name}", None, "user"))
        else:
            table = library.life_table(name)
    except LibraryError as exc:
        raise scenario.error(path + ("life_table",), str(exc)) from None
    if m.excess_mortality_ratio is not None:
        smr, sprov = m.excess_mortality_ratio, {"value": m.excess_mortality_ratio, "source": SCENARIO}
    else:
        s = library.excess_mortality_ratio()
        smr, sprov = (s.value if s else 1.0), _src(s, "no excess mortality assumed")
    prov = {"life_table": {"name": name, "citation": table.source.citation, "doi_or_url": table.source.doi,
                           "status": table.source.status},
            "excess_mortality_ratio": sprov}
    return table.hazard_per_year(MAX_AGE) * smr, prov


def build_arms(scenario: Scenario, library: Library, indications: list[str] | None = None) -> list[ArmSpec]:
    """ArmSpecs for every arm of the scenario, in file order."""
    return [build_arm(scenario, i, library, indications) for i in range(len(scenario.arms))]
