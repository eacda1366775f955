"""Model spec: a scenario arm resolved into plain numpy arrays for the kernel.

For patient i, infection type k and time t (years since the planned treatment start) the
hazard is

    λ_ik(t) = base_k(indication) × HR_age,k^((a_i(t) − ref_age_k)/10) × HR_GC,k(band_i(t))
              × Π_c HR_c,k^(x_ic) × HR_region,k(r_i) × [on treatment: ToT_k(t − start_i) | otherwise: HR_off,k]
              × (1 − VE_i(t))   for herpes zoster                                  (per year)

where a_i(t) is the baseline age (``age_advances: false``) or the completed age at t
(birthdays are change points), band_i(t) (none, <= 5, > 5-10, > 10 mg/day prednisone-equivalent)
follows the glucocorticoid taper schedule, x_ic are binary covariates (female, Asia, prior
zoster, diabetes, zoster vaccinated before, chronic lung disease, concomitant csDMARD), r_i the
region (1 for ``unspecified``; else relative to the pooled Asian or non-Asian patients), start_i
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

from jaksim.codes import MAX_AGE, TUBERCULOSIS, ZOSTER
from jaksim.errors import LibraryError
from jaksim.library import Library, LifeTable, Sourced, read_life_table
from jaksim.library.resolve import SCENARIO, library_record, resolve
from jaksim.model import time_on_treatment as tot
from jaksim.model.base_rates import RateContext, base_rates, calibrate_rates
from jaksim.model.frailty import frailty_variances
from jaksim.model.latent_tb import TbScreeningSpec, resolve_screening, screening_record
from jaksim.model.vaccination import vaccine_arrays
from jaksim.model.vzv_serostatus import VzvSpec, resolve_vzv
from jaksim.scenario.schema import (
    BINARY_COVARIATES,
    GLUCOCORTICOID_BANDS,
    INDICATIONS,
    REGIONS,
    Arm,
    HazardRatios,
    Scenario,
    Vaccination,
    band_index,
)

_CONSEQUENCES = ("case_fatality", "hospitalisation", "serious", "discontinuation")
DEFAULT_REFERENCE_AGE = 50.0


@dataclass(frozen=True)
class ArmSpec:
    """Every number the kernel needs for one arm, as arrays (rates per patient-year)."""

    name: str
    types: tuple[str, ...]
    base_rate: np.ndarray        # (K, n_indications) per PY
    log_hr: np.ndarray           # (K, n_binary_covariates) natural-log hazard ratios
    hr_gc: np.ndarray            # (K, B) by band none / <=5 / >5-10 / >10 mg/day
    region_hr: np.ndarray        # (K, R) by region (REGIONS; column 0 'unspecified' is 1)
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
    vaccination: Vaccination | None = None   # the arm's vaccination strategy
    jak_inhibitor: bool = True   # the arm's drug is a JAK inhibitor (vaccine response reduced on it)
    provenance: dict = field(default_factory=dict)
    frailty_variance: np.ndarray | None = None   # (K,) gamma frailty variance θ_k (None: no frailty)
    tb_screening: TbScreeningSpec | None = None  # latent TB screening strategy (None: not modelled)
    vzv: VzvSpec | None = None   # VZV serostatus strategy (None: serostatus not modelled)


def cohort_indications(scenario: Scenario) -> list[str]:
    """Indications the arm's rates must cover: the cohort's, or all of them for a file cohort."""
    c = scenario.cohort
    ind = getattr(c, "indication", None)
    if ind is None:
        return list(INDICATIONS)  # file cohort: resolved for every indication that has data
    return [ind] if isinstance(ind, str) else [k for k, v in ind.items() if v > 0]


@dataclass
class _TypeSpec:
    """One infection type of an arm, resolved: its rows of the ArmSpec arrays and provenance."""

    base: np.ndarray             # (n_indications,) per PY
    log_hr: np.ndarray           # (n_binary_covariates,)
    hr_gc: np.ndarray            # (B,)
    region_hr: np.ndarray        # (R,)
    age_log_hr: float            # per year of age
    ref_age: float               # years
    tot_mult: np.ndarray         # (G+1,)
    off_hr: float
    p: dict[str, float]          # case_fatality, hospitalisation, serious, discontinuation
    provenance: dict


@dataclass(frozen=True)
class _Context:
    """What every infection type of one arm is resolved against."""

    scenario: Scenario
    arm: Arm
    at: tuple                    # key path of the arm in the scenario
    library: Library
    indications: list[str]       # indications the rates must cover
    strict: bool                 # a missing indication is an error (else: any one suffices)
    tot_edges: list[float]       # years on treatment where a time-on-treatment multiplier changes
    calibrate: bool = True       # False: library rates left as published (checking only, no scipy)
    cohort: object = None        # CohortSource (calibrates a rate typed for the population)
    profiles: dict = field(default_factory=dict)   # type -> time-on-treatment Profile or None
    frailty_variance: tuple = ()  # per type of the arm (in order): gamma frailty variance θ_k


def build_arm(scenario: Scenario, arm_index: int, library: Library,
              indications: list[str] | None = None, calibrate: bool = True, cohort=None) -> ArmSpec:
    """Resolve one arm of a scenario against the library into an ArmSpec.

    Each value comes from the scenario file if given there, else from the library, else a
    neutral assumption (``jaksim.library.resolve``); ``provenance`` records which.
    ``calibrate=False`` skips calibrating library rates to the reference patient: every
    look-up and check is still made (``jaksim validate``), but the arm is not for simulation.
    """
    arm: Arm = scenario.arms[arm_index]
    tr = arm.treatment
    _check_treatment(scenario, arm_index, library)
    profiles = tot.arm_profiles(scenario, arm, library)
    types = tuple(arm.infections)
    frailty, frailty_prov = frailty_variances(scenario, types, library)
    ctx = _Context(scenario, arm, ("arms", arm_index), library, indications or cohort_indications(scenario),
                   indications is not None or getattr(scenario.cohort, "indication", None) is not None,
                   tot.arm_edges(profiles), calibrate, cohort, profiles, tuple(frailty.tolist()))
    specs = [_infection(ctx, name) for name in types]
    prov: dict = {"treatment": {"drug": tr.drug, "dose_mg": tr.dose_mg},
                  "infections": {name: t.provenance for name, t in zip(types, specs, strict=False)},
                  "frailty": frailty_prov}
    disc, prov["discontinuation_rate_per_100py"] = resolve(
        tr.discontinuation_rate_per_100py, library.discontinuation(tr.drug), assumed=0.0,
        why="no discontinuation assumed")
    taper = sorted(tr.glucocorticoid_taper, key=lambda x: x.at_weeks)
    taper_times = np.array([t.at_weeks * 7.0 / 365.25 for t in taper], dtype=np.float64)
    taper_band = np.array([band_index(t.max_band) for t in taper], dtype=np.int8)
    mortality, prov["mortality"] = _mortality(scenario, arm_index, library)
    vacc = vaccine_arrays(arm.vaccination, scenario.horizon_years, library.vaccines)
    screening = None
    if arm.tb_screening is not None:
        screening = resolve_screening(arm.tb_screening, arm.infections[TUBERCULOSIS].background_incidence,
                                      library.data, lambda m: scenario.error(("arms", arm_index, "tb_screening"), m))
        prov["tb_screening"] = screening_record(screening)
    vzv = None
    if arm.vzv_screening is not None:
        vzv = resolve_vzv(arm.vzv_screening, library.data,
                          lambda m: scenario.error(("arms", arm_index, "vzv_screening"), m))
        prov["vzv_screening"] = vzv.provenance
    if arm.vaccination is not None:
        prov["vaccination"] = {"strategy": arm.vaccination.model_dump(), **vacc.provenance}
    age_log_hr = np.array([t.age_log_hr for t in specs], dtype=np.float64)
    ref_age = np.array([t.ref_age for t in specs], dtype=np.float64)
    age_grid = np.arange(MAX_AGE + 1, dtype=np.float64)
    p = {q: np.array([t.p[q] for t in specs], dtype=np.float64) for q in _CONSEQUENCES}
    return ArmSpec(
        name=arm.name, types=types, base_rate=_rows([t.base for t in specs], len(INDICATIONS)),
        log_hr=_rows([t.log_hr for t in specs], len(BINARY_COVARIATES)),
        hr_gc=_rows([t.hr_gc for t in specs], len(GLUCOCORTICOID_BANDS)),
        region_hr=_rows([t.region_hr for t in specs], len(REGIONS)),
        age_log_hr=age_log_hr, ref_age=ref_age,
        age_hr_table=np.exp(age_log_hr[:, None] * (age_grid[None, :] - ref_age[:, None])),
        tot_edges=np.array(ctx.tot_edges, dtype=np.float64),
        tot_mult=_rows([t.tot_mult for t in specs], len(ctx.tot_edges) + 1),
        off_hr=np.array([t.off_hr for t in specs], dtype=np.float64),
        recurrent=np.array([1 if arm.infections[n].recurrent else 0 for n in types], dtype=np.uint8),
        p_fatal=p["case_fatality"], p_hosp=p["hospitalisation"], p_serious=p["serious"],
        p_stop=p["discontinuation"], discontinuation_rate=float(disc / 100.0),
        taper_times=taper_times, taper_band=taper_band, mortality=mortality,
        ve_table=vacc.ve_table, ve_step=vacc.step_years,
        ve_target=np.array([1 if t == ZOSTER else 0 for t in types], dtype=np.uint8),
        p_phn_age=_phn_by_age(arm, types, library, prov["infections"]),
        vaccination=arm.vaccination, jak_inhibitor=library.drugs[tr.drug].get("drug_class") == "jak_inhibitor",
        provenance=prov, frailty_variance=frailty if frailty.any() else None, tb_screening=screening, vzv=vzv)


def _rows(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Per-type rows stacked into a (K, width) float array (K = 0 gives an empty one)."""
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def _check_treatment(scenario: Scenario, arm_index: int, library: Library) -> None:
    """The arm's drug and dose exist in the library, else a scenario error at the key."""
    tr = scenario.arms[arm_index].treatment
    at = ("arms", arm_index, "treatment")
    try:
        doses = library.doses(tr.drug)
    except LibraryError as exc:
        raise scenario.error(at + ("drug",), str(exc)) from None
    if float(tr.dose_mg) not in doses:
        raise scenario.error(at + ("dose_mg",),
                             f"{tr.dose_mg:g} mg is not a dose of {tr.drug} in the parameter library; "
                             f"allowed: {', '.join(f'{d:g}' for d in doses)}")


def _infection(ctx: _Context, name: str) -> _TypeSpec:
    """Everything about one infection type: rate, hazard ratios, time on treatment, consequences."""
    inf = ctx.arm.infections[name]
    tr = ctx.arm.treatment
    path = ctx.at + ("infections", name)
    rctx = RateContext(ctx.scenario, ctx.arm, ctx.at, ctx.library, ctx.indications, ctx.strict, ctx.cohort)
    base, ip = base_rates(rctx, name)
    lib = _TreatmentLibrary(ctx.library, tr.drug, tr.dose_mg)
    age_log_hr, ref_age, hr_gc, log_hr, hr_prov = _hazard_ratios(lib, name, inf.hazard_ratios)
    region_hr = _region_hazard_ratios(lib, name, inf.hazard_ratios, hr_prov)
    ip.update(hr_prov)
    tot_mult = tot.multipliers(ctx.profiles.get(name), ctx.tot_edges)
    if inf.time_on_treatment:
        ip["time_on_treatment"] = {"value": [s.model_dump() for s in inf.time_on_treatment], "source": SCENARIO}
    given, label = ((inf.off_treatment_hazard_ratio, SCENARIO) if inf.off_treatment_hazard_ratio is not None
                    else (tr.off_treatment_hazard_ratio, SCENARIO + " (treatment)"))
    off_hr, ip["off_treatment_hazard_ratio"] = resolve(
        given, ctx.library.off_treatment_hazard_ratio(name), assumed=1.0, source=label,
        why="same hazard off treatment assumed")
    p = _consequences(ctx, name, ip)
    if ctx.calibrate:    # a baseline (reference treatment) is calibrated without the arm's interactions
        reference = _hazard_ratios(_TreatmentLibrary(ctx.library, None, None), name, inf.hazard_ratios)
        calibrate_rates(rctx, name, ip, base, log_hr, hr_gc, age_log_hr, ref_age, region_hr,
                        baseline_hrs=(reference[3], reference[2], reference[0], reference[1]),
                        frailty_variance=ctx.frailty_variance[list(ctx.arm.infections).index(name)])
    tot.normalise(ctx.profiles.get(name), base, ip, ctx.library, ctx.arm, name)
    if inf.background_incidence is not None:
        s = ctx.library.tuberculosis_setting_ratio(inf.background_incidence)
        if name != "tuberculosis" or s is None:
            raise ctx.scenario.error(path + ("background_incidence",),
                                     "background_incidence applies to the type 'tuberculosis' only "
                                     f"(got it on '{name}')")
        base *= s.value          # after calibration: relative to the programme average
        ip["background_incidence"] = {"setting": inf.background_incidence, **library_record(s)}
    return _TypeSpec(base, log_hr, hr_gc, region_hr, age_log_hr, ref_age, tot_mult, off_hr, p, ip)


@dataclass(frozen=True)
class _TreatmentLibrary:
    """The library's hazard ratios as one arm sees them: an entry for the arm's drug (and dose),
    an interaction of the covariate with the treatment, wins over the entry without a drug."""

    library: Library
    drug: str | None        # None: the entries without a drug (the reference treatment's)
    dose_mg: float | None

    def hazard_ratio(self, infection_type: str, covariate: str) -> Sourced | None:
        return self.library.hazard_ratio(infection_type, covariate, self.drug, self.dose_mg)


def _hazard_ratios(library: _TreatmentLibrary, name: str, hrs: HazardRatios
                   ) -> tuple[float, float, np.ndarray, np.ndarray, dict]:
    """Age (log HR per year, reference age), glucocorticoid-band HRs, log HRs of the binary covariates."""
    prov: dict = {}
    lib_age = library.hazard_ratio(name, "age_per_10_years")
    age, prov["age_per_10_years"] = resolve(hrs.age_per_10_years, lib_age, assumed=1.0,
                                            why="no age effect assumed")
    ref_age, prov["reference_age_years"] = _reference_age(hrs, lib_age)
    hr_gc = np.ones(len(GLUCOCORTICOID_BANDS))
    for b, band in enumerate(GLUCOCORTICOID_BANDS[1:], start=1):
        key = f"glucocorticoid_{band}"
        hr_gc[b], prov[key] = resolve(hrs.glucocorticoid(band), library.hazard_ratio(name, key), assumed=1.0,
                                      why="no glucocorticoid effect assumed")
    log_hr = np.zeros(len(BINARY_COVARIATES))
    for c, cov in enumerate(BINARY_COVARIATES):
        v, prov[cov] = resolve(getattr(hrs, cov), library.hazard_ratio(name, cov), assumed=1.0,
                               why=f"no {cov} effect assumed")
        log_hr[c] = np.log(v)
    return np.log(age) / 10.0, ref_age, hr_gc, log_hr, prov


def _region_hazard_ratios(library: _TreatmentLibrary, name: str, hrs: HazardRatios, prov: dict) -> np.ndarray:
    """Hazard ratio by region (REGIONS order; 'unspecified' is 1): scenario, else library, else 1
    (the pooled Asian or non-Asian patients' rate; only given values get a provenance record)."""
    out = np.ones(len(REGIONS))
    by_region: dict = {}
    scenario_values: dict[str, float] = {str(k): v for k, v in hrs.region.items()}
    for r, region in enumerate(REGIONS[1:], start=1):
        given, lib = scenario_values.get(region), library.hazard_ratio(name, f"region_{region}")
        if given is not None or lib is not None:     # regions with neither: 1, the pooled patients' rate
            out[r], by_region[region] = resolve(given, lib, assumed=1.0, why="")
    if by_region:
        prov["region"] = by_region
    return out


def _reference_age(hrs: HazardRatios, lib_age: Sourced | None) -> tuple[float, dict]:
    """Age (years) at which the age hazard ratio is 1: scenario, else the library's age entry, else 50."""
    if hrs.reference_age_years is not None:
        return hrs.reference_age_years, {"value": hrs.reference_age_years, "source": SCENARIO}
    lib_ref = dict(lib_age.extra).get("reference_age") if lib_age is not None else None
    if lib_age is not None and lib_ref is not None:
        return lib_ref, {"value": lib_ref, "source": "library", "citation": lib_age.citation}
    return DEFAULT_REFERENCE_AGE, {"value": DEFAULT_REFERENCE_AGE, "source": "assumption", "status": "assumption",
                                   "note": "no age hazard ratio in the library: the reference age changes nothing"}


def _consequences(ctx: _Context, name: str, prov: dict) -> dict[str, float]:
    """Probabilities of death, hospitalisation, seriousness and stopping treatment after an event."""
    inf = ctx.arm.infections[name]
    given = {"case_fatality": ctx.arm.mortality.case_fatality.get(name),
             "hospitalisation": inf.hospitalisation_probability,
             "serious": inf.serious_probability,
             "discontinuation": inf.discontinuation_probability}
    p = {}
    for q, v in given.items():
        p[q], prov[f"{q}_probability"] = resolve(v, ctx.library.consequence(name, q), assumed=0.0,
                                                 why=f"{q} not modelled (probability 0)")
    return p


def _phn_by_age(arm: Arm, types: tuple[str, ...], library: Library, prov: dict) -> np.ndarray:
    """P(post-herpetic neuralgia | event) by completed age (K, MAX_AGE+1): scenario, else the
    library's by-age values for herpes zoster, else 0."""
    p_phn = np.zeros((len(types), MAX_AGE + 1))
    for k, name in enumerate(types):
        given = arm.infections[name].post_herpetic_neuralgia_probability
        if given is not None:
            p_phn[k] = given
            prov[name]["post_herpetic_neuralgia_probability"] = {"value": given, "source": SCENARIO}
        elif name == ZOSTER:
            rows = sorted(library.vaccines["post_herpetic_neuralgia"], key=lambda r: r["from_age_years"])
            for r in rows:
                p_phn[k, int(np.ceil(r["from_age_years"])):] = r["probability"]
            prov[name]["post_herpetic_neuralgia_probability"] = {"source": "library", "by_age": rows}
    return p_phn


def _mortality(scenario: Scenario, arm_index: int, library: Library) -> tuple[np.ndarray, dict]:
    """Background death hazard per PY, (2, MAX_AGE+1) [male, female] by completed age, and provenance:
    a constant scenario rate, or a life table (library or user CSV) times the excess mortality ratio."""
    m = scenario.arms[arm_index].mortality
    path = ("arms", arm_index, "mortality")
    if m.rate_per_100py is not None:
        return (np.full((2, MAX_AGE + 1), m.rate_per_100py / 100.0),
                {"rate_per_100py": {"value": m.rate_per_100py, "source": SCENARIO}})
    name = m.life_table or library.default_life_table()
    if name is None:
        raise scenario.error(path, "no life table in the library; give mortality.rate_per_100py")
    table = _life_table(scenario, path + ("life_table",), name, library)
    smr, sprov = resolve(m.excess_mortality_ratio, library.excess_mortality_ratio(), assumed=1.0,
                         why="no excess mortality assumed")
    prov = {"life_table": {"name": name, "citation": table.source.citation, "doi_or_url": table.source.doi,
                           "status": table.source.status},
            "excess_mortality_ratio": sprov}
    return table.hazard_per_year(MAX_AGE) * smr, prov


def _life_table(scenario: Scenario, path: tuple, name: str, library: Library) -> LifeTable:
    """A library life table by name, or a user's CSV file (path relative to the scenario file).

    An unknown name or a missing file is an error at the scenario's key; a malformed CSV is
    a LibraryError naming the CSV's own line and column.
    """
    if not name.endswith(".csv"):
        try:
            return library.life_table(name)
        except LibraryError as exc:
            raise scenario.error(path, str(exc)) from None
    p = Path(name)
    p = p if p.is_absolute() else scenario.base_dir / p
    if not p.is_file():
        raise scenario.error(path, f"life table file not found: '{p}'")
    try:
        return read_life_table(p, name, Sourced(float("nan"), f"user file {name}", None, "user"))
    except LibraryError as exc:    # the CSV's own place, after the scenario key that names it
        raise scenario.error(path, str(exc)) from None


def build_arms(scenario: Scenario, library: Library, indications: list[str] | None = None,
               calibrate: bool = True, cohort=None) -> list[ArmSpec]:
    """ArmSpecs for every arm of the scenario, in file order (``calibrate``: see build_arm;
    ``cohort``: the CohortSource whose first patients calibrate a rate typed for the population)."""
    return [build_arm(scenario, i, library, indications, calibrate, cohort) for i in range(len(scenario.arms))]
