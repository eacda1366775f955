"""Economics: costs, QALYs and life-years of every patient, discounted exactly in continuous time.

With an annual discount rate r and δ = ln(1 + r), money or health at time t (years since the
index date) is worth e^{−δt} = (1 + r)^{−t} today. Every quantity is integrated exactly:

* an event at t costing c:                  c·e^{−δt}
* a constant rate c over [a, b]:             c·(e^{−δa} − e^{−δb})/δ      (c·(b − a) when r = 0)

so no half-cycle correction is needed (there are no cycles). Per patient, over follow-up
[0, exit] (exit = death or the horizon):

* life-years = ∫_0^exit e^{−δs} ds;
* QALYs = ∫_0^exit u(a(s)) e^{−δs} ds − Σ_events d_k ∫_t^{min(t + D_k, exit)} e^{−δs} ds, with the
  baseline utility u piecewise constant in completed age a(s) (birthdays are breakpoints, as in
  the kernel; baseline age throughout when ``age_advances: false``); a zoster episode with
  post-herpetic neuralgia adds the PHN decrement over [t + D_zoster, t + D_zoster + D_PHN]
  (capped at exit). Decrements add up (overlapping episodes are not capped at the baseline);
* QALYs (and life-years) lost at death: what a patient who dies would have had from death to
  the horizon at baseline utility — reported beside, not subtracted again;
* costs: each event costs its type's hospitalised or outpatient cost at its time, plus the
  PHN cost at the event time when PHN follows; each vaccine dose costs price + administration
  at its time — a dose before the index date (t < 0) is counted at t = 0 (undiscounted, not
  compounded back) and a dose after exit is not given; the drug costs a constant rate per year
  over [treatment start, stop or exit]; latent TB screening (tests, work-up of a positive test,
  prophylaxis: a full course for completers, ``non_completer_share`` of it otherwise) and VZV
  serology with two varicella doses for the vaccinated are counted at t = 0 (column
  ``screening_costs``).

Undiscounted totals (r = 0) are reported beside the discounted ones. Everything is vectorised
over patients and events; the only Python loop is over the years of age in the horizon.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jaksim.codes import MAX_AGE, PHN, ZOSTER
from jaksim.errors import LibraryError
from jaksim.library.entries import Sourced
from jaksim.library.loader import load_economics
from jaksim.library.resolve import SCENARIO
from jaksim.library.resolve import resolve as resolve_value
from jaksim.model.vaccination import WEEKS_PER_YEAR
from jaksim.scenario.economics import DiseaseActivity
from jaksim.scenario.schema import Economics, Treatment, Vaccination
from jaksim.scenario.screening import TbScreening
from jaksim.scenario.vzv import VzvScreening

#: Per-patient economic outcomes, in the order of the patients table's columns.
OUTCOMES = ("costs", "costs_undiscounted", "qalys", "qalys_undiscounted", "life_years",
            "life_years_undiscounted", "qalys_lost_at_death", "qalys_lost_at_death_undiscounted",
            "event_costs", "vaccine_costs", "drug_costs", "screening_costs")


# ----------------------------------------------------------------------- discounting
def discount_factor(t, rate: float) -> np.ndarray:
    """(1 + r)^{−t} = e^{−δt}, δ = ln(1 + r)."""
    return np.exp(-np.log1p(rate) * np.asarray(t, dtype=np.float64))


def discounted_time(a, b, rate: float) -> np.ndarray:
    """∫_a^b e^{−δs} ds = (e^{−δa} − e^{−δb})/δ (b − a when r = 0; 0 when b ≤ a)."""
    a = np.asarray(a, dtype=np.float64)
    length = np.maximum(np.asarray(b, dtype=np.float64) - a, 0.0)
    if rate == 0.0:
        return length
    d = np.log1p(rate)
    return np.exp(-d * a) * (-np.expm1(-d * length)) / d


def utility_time(age0: np.ndarray, a, b, utility_by_age: np.ndarray, rate: float,
                 age_advances: bool = True) -> np.ndarray:
    """∫_a^b u(completed age at s) e^{−δs} ds, birthdays as breakpoints (per patient)."""
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), age0.shape)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), age0.shape)
    whole = np.floor(age0)
    top = utility_by_age.shape[0] - 1
    if not age_advances:
        return utility_by_age[np.clip(whole, 0, top).astype(np.int64)] * discounted_time(a, b, rate)
    from jaksim.economics.utility_kernel import utility_time_ageing  # compiled: imported when needed
    return utility_time_ageing(np.ascontiguousarray(age0, dtype=np.float64), np.ascontiguousarray(a),
                                np.ascontiguousarray(b), np.ascontiguousarray(utility_by_age, dtype=np.float64),
                                float(np.log1p(rate)))


# ----------------------------------------------------------------------- library
def economics_library() -> dict:
    """A copy of ``economics.yaml``, validated (the PSA changes values in its copies)."""
    return copy.deepcopy(load_economics())


def library_parameters(data: dict) -> list[tuple[tuple, dict]]:
    """Every entry of the economics library that carries a value: (key path, entry)."""
    out: list[tuple[tuple, dict]] = []

    def walk(node, path):
        if isinstance(node, dict):
            if "value" in node and "status" in node:
                out.append((path, node))
                return
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))
    sections = {"currencies": data["currencies"], "utility": data["utility"]}
    if data.get("disease_activity"):
        sections["disease_activity"] = data["disease_activity"]
    walk(sections, ())
    return out


def entry_distribution(entry: dict):
    """Frozen scipy distribution of an economics entry (None: fixed, no uncertainty)."""
    from jaksim.library.uncertainty import Z95, probability_distribution
    ci, value, kind = entry.get("ci95"), float(entry["value"]), entry.get("distribution", "fixed")
    if kind == "fixed" or not ci or value <= 0:
        return None
    sd = (float(ci[1]) - float(ci[0])) / (2 * Z95)
    if kind == "gamma":
        from scipy import stats  # imported when needed (slow to import)
        return stats.gamma(a=(value / sd) ** 2, scale=sd**2 / value)
    if kind == "beta":
        d = probability_distribution(value, list(ci))
        return d.frozen() if d.family == "beta" else None
    raise LibraryError(f"economics library: unknown distribution '{kind}'")


# ----------------------------------------------------------------------- resolved spec
@dataclass(frozen=True)
class EconSpec:
    """Every number the economics of one arm needs, as arrays over the arm's infection types."""

    currency: str
    price_year: int | None
    rate_costs: float
    rate_outcomes: float
    willingness_to_pay: tuple[float, ...]
    cost_outpatient: np.ndarray       # (K,)
    cost_hospitalised: np.ndarray     # (K,)
    decrement: np.ndarray             # (K,)
    duration_years: np.ndarray        # (K,)
    phn_cost: float
    phn_decrement: float
    phn_duration_years: float
    zoster_index: int                 # -1 if zoster is not simulated
    cost_per_dose: float              # vaccine price + administration
    drug_cost_per_year: float
    utility_by_age: np.ndarray        # (MAX_AGE + 1,)
    provenance: dict = field(default_factory=dict)
    disease_activity: ActivitySpec | None = None   # None: disease activity not modelled
    screening: ScreeningCosts | None = None        # None: no latent TB screening in the arm
    vzv: VzvCosts | None = None                    # None: no VZV serostatus strategy in the arm


@dataclass(frozen=True)
class ScreeningCosts:
    """Latent TB screening costs of one arm (currency units at t = 0)."""

    igra_test: float
    tst_test: float
    positive_work_up: float
    course: float                     # the arm's prophylaxis regimen, completed
    non_completer_share: float        # share of a course a non-completer costs


@dataclass(frozen=True)
class VzvCosts:
    """VZV serostatus strategy costs of one arm: serology per test, varicella vaccine per dose."""

    serology_test: float
    per_dose: float                   # vaccine + administration


def vzv_costs(c: VzvCosts, outcome) -> np.ndarray:
    """Each patient's serology and two varicella doses (``model.vzv_serostatus.VzvOutcome``), at t = 0."""
    return c.serology_test * outcome.tested + 2.0 * c.per_dose * outcome.vaccinated


def screening_costs(c: ScreeningCosts, outcome) -> np.ndarray:
    """Each patient's screening cost (``model.latent_tb.TbScreeningOutcome``)."""
    started_only = outcome.positive & ~outcome.completed
    return (c.igra_test * outcome.tested_igra + c.tst_test * outcome.tested_tst
            + c.positive_work_up * outcome.positive + c.course * outcome.completed
            + c.course * c.non_completer_share * started_only)


@dataclass(frozen=True)
class ActivitySpec:
    """Disease activity of one arm (see ``patient_economics``)."""

    response_probability: float       # share whose disease becomes controlled on this drug and dose
    onset_years: float                # treatment start to response
    loss_of_response_per_year: float  # rate at which responders lose control
    decrement_uncontrolled: float     # utility lost while uncontrolled
    #: per infection type, hazard uncontrolled vs controlled (types not listed: 1)
    infection_hazard_ratio: dict[str, float] = field(default_factory=dict)


#: what an economics library record shows (the file has no DOI field)
_SHOWN = ("value", "citation", "status", "note")


def _sourced(entry: dict | None) -> Sourced | None:
    """An economics library entry as a Sourced value (its value as written: 1000 stays an int)."""
    if entry is None:
        return None
    return Sourced(entry["value"], entry["citation"], None, entry["status"], entry["note"], shown=_SHOWN)


def _lib(entry: dict | None, given, what: str, prov: dict, key: str) -> float:
    """Scenario value, else library entry, else 0 (a cost or decrement not counted); provenance into prov[key]."""
    value, prov[key] = resolve_value(given, _sourced(entry), assumed=0.0, show_assumed=True,
                                     why=f"{what}: no library value (0 assumed)")
    return value


def resolve(econ: Economics, types: tuple[str, ...], vaccination: Vaccination | None,
            library: dict | None = None, treatment: Treatment | None = None,
            screening: TbScreening | None = None, vzv: VzvScreening | None = None) -> EconSpec:
    """An arm's economics section resolved against the economics library (``treatment``: the
    arm's drug and dose, for the disease-activity response probability; ``screening``: its
    latent TB screening strategy, for the costs of tests and prophylaxis)."""
    lib = library if library is not None else load_economics()
    if isinstance(econ.discount, str):
        preset = lib["discount_presets"][econ.discount]
        r_c, r_o = float(preset["costs"]), float(preset["outcomes"])
        wtp = econ.willingness_to_pay or preset["willingness_to_pay"]
        currency = econ.currency or preset["currency"]
        prov: dict[str, Any] = {"discount": {"preset": econ.discount, "costs": r_c, "outcomes": r_o,
                             "citation": preset["citation"], "status": preset["status"]}}
    else:
        r_c, r_o = econ.discount.costs, econ.discount.outcomes
        wtp = econ.willingness_to_pay or [20000.0, 30000.0]
        currency = econ.currency or "GBP"
        prov = {"discount": {"costs": r_c, "outcomes": r_o, "source": SCENARIO}}
    cur = lib["currencies"][currency]
    prov["currency"], prov["price_year"] = currency, econ.price_year or cur["price_year"]
    K = len(types)
    c_out, c_hosp, dec, dur = np.zeros(K), np.zeros(K), np.zeros(K), np.zeros(K)
    ev_prov: dict = {}
    for k, t in enumerate(types):
        given = econ.events.get(t)
        lc = cur["event_costs"].get(t, {})
        lu = lib["utility"]["decrements"].get(t, {})
        p: dict = {}
        c_out[k] = _lib(lc.get("outpatient"), given and given.cost, f"{t} cost", p, "cost")
        c_hosp[k] = _lib(lc.get("hospitalised"), given and given.cost_hospitalised, f"{t} hospitalised cost",
                         p, "cost_hospitalised")
        dec[k] = _lib(lu.get("decrement"), given and given.utility_decrement, f"{t} utility decrement",
                      p, "utility_decrement")
        dur[k] = _lib(lu.get("duration_years"), given and given.duration_years, f"{t} decrement duration",
                      p, "duration_years")
        ev_prov[t] = p
    prov["events"] = ev_prov
    phn: dict = {}
    g = econ.post_herpetic_neuralgia
    lu = lib["utility"]["decrements"][PHN]
    phn_cost = _lib(cur.get(PHN), g.cost, "PHN cost", phn, "cost")
    phn_dec = _lib(lu["decrement"], g.utility_decrement, "PHN decrement", phn, "utility_decrement")
    phn_dur = _lib(lu["duration_years"], g.duration_years, "PHN duration", phn, "duration_years")
    prov[PHN] = phn
    per_dose = 0.0
    if vaccination is not None:
        lv = cur["vaccines"][vaccination.vaccine]
        vp: dict = {}
        per_dose = (_lib(lv["cost_per_dose"], econ.vaccine_cost_per_dose, "vaccine price", vp, "cost_per_dose")
                    + _lib(lv["administration_per_dose"], econ.vaccine_administration_cost_per_dose,
                           "vaccine administration", vp, "administration_per_dose"))
        prov["vaccine"] = vp
    prov["drug_cost_per_year"] = {"value": econ.drug_cost_per_year,
                                  "source": SCENARIO if econ.drug_cost_per_year else "not costed"}
    if econ.baseline_utility is not None:
        rows = sorted((r.from_age_years, r.utility) for r in econ.baseline_utility)
        prov["baseline_utility"] = {"value": rows, "source": SCENARIO}
    else:
        lrows = lib["utility"]["baseline_by_age"]
        rows = sorted((float(r["from_age_years"]), float(r["value"])) for r in lrows)
        prov["baseline_utility"] = {"source": "library", "by_age": lrows}
    u = np.full(MAX_AGE + 1, rows[0][1])
    for age, val in rows:
        u[int(np.ceil(age)):] = val
    activity = _disease_activity(econ, lib, treatment, prov)
    costs = None if screening is None else _screening_costs(cur.get("tb_screening") or {}, screening, prov)
    vzv_spec = None
    if vzv is not None:
        lv, p = cur.get("vzv_screening") or {}, {}
        vzv_spec = VzvCosts(_lib(lv.get("serology_test"), None, "VZV serology test", p, "serology_test"),
                            _lib(lv.get("varicella_vaccine_per_dose"), None, "varicella vaccine", p, "vaccine_per_dose")
                            + _lib(lv.get("administration_per_dose"), None, "varicella vaccine administration", p,
                                   "administration_per_dose"))
        prov["vzv_screening"] = p
    return EconSpec(currency, prov["price_year"], r_c, r_o, tuple(float(w) for w in wtp), c_out, c_hosp, dec,
                    dur, phn_cost, phn_dec, phn_dur, types.index(ZOSTER) if ZOSTER in types else -1,
                    per_dose, float(econ.drug_cost_per_year), u, prov, activity, costs, vzv_spec)


def _screening_costs(lib: dict, screening: TbScreening, prov: dict) -> ScreeningCosts:
    """The costs of the arm's screening strategy from the currency's ``tb_screening`` costs (0
    where the library has none: not costed, and the provenance says so)."""
    p: dict = {}
    values = [_lib(lib.get(k), None, f"latent TB screening {k}", p, k)
              for k in ("igra_test", "tst_test", "positive_work_up", "non_completer_share")]
    course = _lib((lib.get("prophylaxis") or {}).get(screening.prophylaxis), None,
                  f"{screening.prophylaxis} prophylaxis course", p, "prophylaxis_course")
    prov["tb_screening"] = p
    return ScreeningCosts(values[0], values[1], values[2], course, values[3])


def _disease_activity(econ: Economics, lib: dict, treatment: Treatment | None, prov: dict) -> ActivitySpec | None:
    """The arm's disease-activity values: scenario, else library (response by drug and dose)."""
    if econ.disease_activity is None:
        return None
    given = econ.disease_activity if not isinstance(econ.disease_activity, str) else DiseaseActivity()
    la = lib.get("disease_activity")
    where = "economics.disease_activity"
    p: dict = {}
    values = {}
    for key in ("response_onset_weeks", "loss_of_response_per_year", "utility_decrement_uncontrolled"):
        mine = getattr(given, key)
        if mine is None and (la is None or la.get(key) is None):
            raise LibraryError(f"{where}.{key}: the economics library has no value; give it in the scenario")
        values[key], p[key] = resolve_value(mine, _sourced(la[key]) if mine is None and la else None,
                                            assumed=math.nan, why="")
    response = None
    if given.response_probability is None:
        for e in (la or {}).get("response_probability", []):
            if treatment is not None and e["drug"] == treatment.drug and float(e["dose_mg"]) == treatment.dose_mg:
                response = e
        if response is None:
            what = f"{treatment.drug} {treatment.dose_mg:g} mg" if treatment is not None else "this arm"
            known = ", ".join(f"{e['drug']} {float(e['dose_mg']):g} mg"
                              for e in (la or {}).get("response_probability", []))
            raise LibraryError(f"{where}.response_probability: no library value for {what} (library has: "
                               f"{known or 'none'}); give it in the arm's economics.disease_activity")
    values["response_probability"], p["response_probability"] = resolve_value(
        given.response_probability, _sourced(response) if response is not None else None, assumed=math.nan, why="")
    hrs: dict[str, float] = {}
    if given.infection_hazard_ratio_uncontrolled is not None:
        hrs = {t: float(v) for t, v in given.infection_hazard_ratio_uncontrolled.items()}
        p["infection_hazard_ratio_uncontrolled"] = {"value": hrs, "source": SCENARIO}
    else:
        lib_hrs = (la or {}).get("infection_hazard_ratio_uncontrolled") or {}
        hrs = {t: float(e["value"]) for t, e in lib_hrs.items()}
        p["infection_hazard_ratio_uncontrolled"] = {
            t: {"source": "library", **{k: e.get(k) for k in ("value", "citation", "status", "note")}}
            for t, e in lib_hrs.items()}
    p["infection_hazard_ratio_uncontrolled"]["types_not_listed"] = {
        "value": 1.0, "source": "assumption", "status": "assumption",
        "note": "no estimate of the infection risk by disease activity for these types"}
    prov["disease_activity"] = p
    return ActivitySpec(float(values["response_probability"]), float(values["response_onset_weeks"]) / WEEKS_PER_YEAR,
                        float(values["loss_of_response_per_year"]), float(values["utility_decrement_uncontrolled"]),
                        hrs)


# ----------------------------------------------------------------------- per patient
def patient_economics(spec: EconSpec, age: np.ndarray, age_advances: bool, horizon: float,
                      follow_up: np.ndarray, exit_reason: np.ndarray, treatment_start: np.ndarray,
                      stop_time: np.ndarray, dose1: np.ndarray, dose2: np.ndarray, ev_index: np.ndarray,
                      ev_type: np.ndarray, ev_time: np.ndarray, hospitalised: np.ndarray,
                      phn: np.ndarray, activity_uniforms: tuple[np.ndarray, np.ndarray] | None = None,
                      screening: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Costs, QALYs and life-years of each patient of a chunk (see the module docstring).

    ``ev_index`` is each event's row in the chunk (patient id − first id); the event arrays
    come from the kernel (``ChunkResult``), the schedule's dose and start times from
    ``vaccination.Schedule``. Returns arrays of shape (n,) named as in :data:`OUTCOMES`.
    ``activity_uniforms``: two uniforms per patient (response, loss of response), needed when
    the arm models disease activity (``uncontrolled_time``); ``screening``: each patient's latent
    TB screening cost (at t = 0), None without screening.
    """
    n = follow_up.shape[0]
    out: dict[str, np.ndarray] = {}
    rc, ro = spec.rate_costs, spec.rate_outcomes
    fu = follow_up
    ev_t = ev_time.astype(np.float64)
    died = exit_reason != 0

    def per_patient(weights):
        return np.bincount(ev_index, weights=weights, minlength=n)[:n]

    # event costs
    cost_ev = np.where(hospitalised, spec.cost_hospitalised[ev_type], spec.cost_outpatient[ev_type])
    cost_ev = cost_ev + np.where(phn, spec.phn_cost, 0.0)
    # vaccine doses: before the index date counted at t = 0; after exit not given
    doses = []
    for d in (dose1, dose2):
        given = np.isfinite(d) & (d < fu)
        doses.append((given, np.where(given, np.maximum(d, 0.0), 0.0)))
    on_from = np.minimum(treatment_start, fu)
    on_to = np.where(np.isnan(stop_time), fu, np.minimum(stop_time, fu))
    # QALY decrements of events
    ev_exit = fu[ev_index]
    dur = spec.duration_years[ev_type]
    dec = spec.decrement[ev_type]
    phn_from = ev_t + dur
    for label, r in (("", rc), ("_undiscounted", 0.0)):
        ec = per_patient(cost_ev * discount_factor(ev_t, r)) if ev_t.size else np.zeros(n)
        vc = np.zeros(n)
        for given, t in doses:
            vc += np.where(given, spec.cost_per_dose * discount_factor(t, r), 0.0)
        dc = spec.drug_cost_per_year * discounted_time(on_from, on_to, r)
        sc = np.zeros(n) if screening is None else screening
        out["costs" + label] = ec + vc + dc + sc
        if not label:
            out["event_costs"], out["vaccine_costs"], out["drug_costs"], out["screening_costs"] = ec, vc, dc, sc
    for label, r in (("", ro), ("_undiscounted", 0.0)):
        loss = dec * discounted_time(ev_t, np.minimum(ev_t + dur, ev_exit), r)
        loss += np.where(phn, spec.phn_decrement * discounted_time(
            np.minimum(phn_from, ev_exit), np.minimum(phn_from + spec.phn_duration_years, ev_exit), r), 0.0)
        q = utility_time(age, 0.0, fu, spec.utility_by_age, r, age_advances)
        if spec.disease_activity is not None:
            assert activity_uniforms is not None, "disease activity needs the patients' uniforms"
            q = q - spec.disease_activity.decrement_uncontrolled * uncontrolled_time(
                spec.disease_activity, treatment_start, on_to, fu, *activity_uniforms, r)
        out["qalys" + label] = q - (per_patient(loss) if ev_t.size else 0.0)
        out["life_years" + label] = discounted_time(0.0, fu, r)
        lost = utility_time(age, fu, horizon, spec.utility_by_age, r, age_advances)
        out["qalys_lost_at_death" + label] = np.where(died, lost, 0.0)
    return {k: out[k] for k in OUTCOMES}


def uncontrolled_time(a: ActivitySpec, treatment_start: np.ndarray, on_to: np.ndarray, follow_up: np.ndarray,
                      u_response: np.ndarray, u_loss: np.ndarray, rate: float) -> np.ndarray:
    """Discounted years in uncontrolled disease over [0, follow-up], per patient.

    Disease is controlled over [start + onset, min(start + onset + L, stop, exit)) in
    responders (``u_response`` < response probability: the same uniform in every arm, so a
    more effective drug never loses a responder), L ~ Exp(loss rate) from ``u_loss``; it is
    uncontrolled before the start (waiting), during the onset, in non-responders, after a loss
    of response and after stopping (no next line of therapy is modelled).
    """
    from jaksim.model.disease_activity import controlled_interval
    begin, end = controlled_interval(a.response_probability, a.onset_years, a.loss_of_response_per_year,
                                     treatment_start, u_response, u_loss)
    end = np.minimum(np.minimum(end, on_to), follow_up)
    controlled = begin < end
    return discounted_time(0.0, follow_up, rate) - np.where(controlled, discounted_time(begin, end, rate), 0.0)


def yearly_counts(types: tuple[str, ...], horizon: float, follow_up: np.ndarray, ev_type: np.ndarray,
                  ev_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events by year of follow-up and type (Y, K), and person-years in each year (Y,)."""
    Y = int(np.ceil(horizon))
    years = np.arange(Y)
    py = np.clip(follow_up[None, :] - years[:, None], 0.0, 1.0).sum(axis=1)
    cyc = np.minimum(np.floor(ev_time).astype(np.int64), Y - 1)
    counts = np.bincount(cyc * len(types) + ev_type.astype(np.int64), minlength=Y * len(types))
    return counts[: Y * len(types)].reshape(Y, len(types)), py
