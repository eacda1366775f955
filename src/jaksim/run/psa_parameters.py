"""The uncertain parameters of a PSA, their draws, and the libraries that hold a draw's values.

Each parameter is a library value with a distribution (``library/uncertainty.py``,
``economics.entry_distribution``). Draw d of parameter p is its quantile function at one
uniform keyed by (seed, ``psa/<p>``, d): reproducible and independent of scheduling.

Relative effects estimated together are drawn together: the contrasts of one trial share
arms, so their log ratios are correlated (a shared comparator arm adds the variance of its log
rate, 1/events, to their covariance; where its events are not reported, half the smaller
contrast's variance, i.e. arms of equal information). Their keyed uniforms become standard
normals, are correlated by the Cholesky factor of the trial's correlation matrix and go back
through each marginal's quantile function, so each marginal is unchanged. Baselines and
other parameters are drawn independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaksim.codes import PHN, ZOSTER
from jaksim.economics.costs_qalys import economics_library, entry_distribution, library_parameters
from jaksim.errors import JaksimError
from jaksim.kernel.rng import stream_key, uniform
from jaksim.library import Library
from jaksim.library.uncertainty import distribution, probability_distribution, rate_distribution, ratio_distribution
from jaksim.library.user import scenario_library
from jaksim.model import evidence as ev
from jaksim.model.hazards import cohort_indications
from jaksim.run.psa_pathway import frailty_parameters, pathway_parameters
from jaksim.scenario.schema import INDICATIONS, Scenario

_VALUE_KEY = {"rates": "rate_per_100py", "hazard_ratios": "hazard_ratio", "consequences": "probability",
              "discontinuation": "rate_per_100py", "off_treatment_hazard_ratio": "hazard_ratio"}


@dataclass(frozen=True)
class Parameter:
    """One uncertain library value: where it lives, its distribution and its point value."""

    name: str
    library: str          # "parameters", "evidence", "vaccines", "economics", "pathway" or "scenario"
    location: tuple       # (section, index, key), or the key path in economics.yaml / vaccines.yaml
    dist: Any             # frozen scipy distribution (or uncertainty.PointMass): .ppf, .mean
    point: float
    family: str
    citation: str
    status: str
    group: str | None = None    # relative effects of one trial: drawn jointly
    entry: dict | None = None   # the library entry (relative effects: arms, for the covariance)


def _param_name(section: str, e: dict) -> str:
    if section == "rates":
        return f"rate.{e['drug']}.{float(e['dose_mg']):g}mg.{e.get('indication', 'ra')}.{e['type']}"
    if section == "hazard_ratios":
        treatment = "" if e.get("drug") is None else "." + e["drug"] + (
            "" if e.get("dose_mg") is None else f".{float(e['dose_mg']):g}mg")
        return f"hazard_ratio.{e['type']}.{e['covariate']}{treatment}"
    if section == "consequences":
        return f"{e['quantity']}_probability.{e['type']}"
    if section == "discontinuation":
        return f"discontinuation_rate.{e['drug']}"
    return f"off_treatment_hazard_ratio.{e['type']}"


_CONSEQUENCE_FIELD = {"hospitalisation": "hospitalisation_probability", "serious": "serious_probability",
                      "discontinuation": "discontinuation_probability"}


def _arm_uses_treatment(arm, e: dict) -> bool:
    """Whether an arm is of the entry's drug (and dose), or the entry has no drug."""
    tr = arm.treatment
    return e.get("drug") is None or (tr.drug == e["drug"] and (e.get("dose_mg") is None
                                                               or float(tr.dose_mg) == float(e["dose_mg"])))


def _given_hazard_ratio(hrs, covariate: str) -> float | None:
    """The scenario's hazard ratio of a library covariate name (two-band keys and regions mapped)."""
    if covariate.startswith("glucocorticoid_"):
        return hrs.glucocorticoid(covariate.removeprefix("glucocorticoid_"))
    if covariate.startswith("region_"):
        return hrs.region.get(covariate.removeprefix("region_"))
    return getattr(hrs, covariate)


def _scenario_gives(scenario: Scenario, section: str, e: dict) -> bool:
    """Whether every arm that could use this library entry overrides it in the scenario file
    (then its library value is never used: it is no PSA parameter)."""
    def every(pred, arms=scenario.arms) -> bool:
        arms = list(arms)
        return bool(arms) and all(pred(a) for a in arms)

    if section in ("hazard_ratios", "consequences", "off_treatment_hazard_ratio", "baselines",
                   "relative_effects") and e.get("type") not in scenario.arms[0].infections:
        return False
    if section == "hazard_ratios":
        return every(lambda a: _given_hazard_ratio(a.infections[e["type"]].hazard_ratios, e["covariate"]) is not None,
                     [a for a in scenario.arms if _arm_uses_treatment(a, e)])
    if section == "consequences":
        if e["quantity"] == "case_fatality":
            return every(lambda a: e["type"] in a.mortality.case_fatality)
        return every(lambda a: getattr(a.infections[e["type"]], _CONSEQUENCE_FIELD[e["quantity"]]) is not None)
    if section == "off_treatment_hazard_ratio":
        return every(lambda a: a.infections[e["type"]].off_treatment_hazard_ratio is not None
                     or a.treatment.off_treatment_hazard_ratio is not None)
    if section == "discontinuation":
        return every(lambda a: a.treatment.discontinuation_rate_per_100py is not None,
                     [a for a in scenario.arms if a.treatment.drug == e["drug"]])
    if section == "rates":
        return every(lambda a: a.infections[e["type"]].rate_per_100py is not None)
    return False


def parameters(scenario: Scenario, library: Library | None = None) -> list[Parameter]:
    """Uncertain library parameters that the scenario's arms use: fixed values, and values every
    arm overrides in the scenario file, are left out (a PSA column that changes nothing would
    give a zero tornado bar and a wrong value of information)."""
    lib = scenario_library(scenario, library)
    drugs = {(a.treatment.drug, float(a.treatment.dose_mg)) for a in scenario.arms}
    types = set(scenario.arms[0].infections)
    inds = set(cohort_indications(scenario))
    out: list[Parameter] = []
    for section, key in _VALUE_KEY.items():
        if section == "rates" and scenario.evidence != "programme_rates":
            continue
        for i, e in enumerate(lib.data.get(section, [])):
            if section == "rates" and ((e["drug"], float(e["dose_mg"])) not in drugs or e["type"] not in types
                                       or e.get("indication", "ra") not in inds):
                continue
            if section == "discontinuation" and e["drug"] not in {d for d, _ in drugs}:
                continue
            if section != "discontinuation" and section != "rates" and e["type"] not in types:
                continue
            if section == "hazard_ratios" and not any(_arm_uses_treatment(a, e) for a in scenario.arms):
                continue
            d = distribution(section, e)
            if d.family == "fixed" or _scenario_gives(scenario, section, e):
                continue
            out.append(Parameter(_param_name(section, e), "parameters", (section, i, key), d.frozen(),
                                 float(e[key]), d.family, str(e.get("citation", "")), str(e.get("status", ""))))
    if scenario.evidence == "relative_effects":
        out += _evidence_parameters(scenario, lib, drugs, types, inds)
    out += _vaccine_parameters(scenario, lib)
    mort = lib.data.get("mortality", {}).get("excess_mortality_ratio")
    if mort and any(a.mortality.rate_per_100py is None for a in scenario.arms):
        d = distribution("mortality", mort)
        if d.family != "fixed":
            out.append(Parameter("excess_mortality_ratio", "parameters", ("mortality", None, "value"), d.frozen(),
                                 float(mort["value"]), d.family, str(mort.get("citation", "")),
                                 str(mort.get("status", ""))))
    out += _economics_parameters(scenario, types)
    out += frailty_parameters(scenario, lib, types, Parameter) + pathway_parameters(scenario, lib, Parameter)
    out += _scenario_parameters(scenario)
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise JaksimError(f"PSA parameter names are not unique: {sorted(n for n in names if names.count(n) > 1)}")
    return out


def _evidence_parameters(scenario: Scenario, lib: Library, drugs, types, inds) -> list[Parameter]:
    """Baselines (independent) and the relative effects on the arms' paths (jointly by trial)."""
    out: list[Parameter] = []
    evidence = lib.evidence
    typed = {t for t in types if all(a.infections[t].rate_per_100py is not None for a in scenario.arms)}
    for i, b in enumerate(evidence.get("baselines", [])):
        if b["indication"] in inds and b["type"] in types - typed:
            d = rate_distribution(b)
            if d.family != "fixed":
                out.append(Parameter(f"baseline.{b['id']}", "evidence", ("baselines", i, "rate_per_100py"),
                                     d.frozen(), float(b["rate_per_100py"]), d.family, str(b.get("citation", "")),
                                     str(b.get("status", ""))))
    used: set[str] = set()
    for drug, dose in sorted(drugs):
        for t in sorted(types - typed):
            for ind in sorted(inds & set(INDICATIONS)):
                re = ev.relative_effect(evidence, lib.drugs, drug, dose, t, ind)
                if re is not None:
                    used |= re.effect_ids()
    for i, e in enumerate(evidence.get("relative_effects", [])):
        if e["id"] not in used:
            continue
        d = ratio_distribution(float(e["ratio"]), e.get("ci95"))
        if d.family == "fixed":
            continue
        out.append(Parameter(f"relative_effect.{e['id']}", "evidence", ("relative_effects", i, "ratio"),
                             d.frozen(), float(e["ratio"]), d.family, str(e.get("citation", "")),
                             str(e.get("status", "")), group=e.get("trial"), entry=e))
    return out


def _scenario_parameters(scenario: Scenario) -> list[Parameter]:
    """Distributions declared in the scenario file next to a value (``scenario/distributions.py``)."""
    from jaksim.scenario.distributions import name
    out = []
    for path, (value, dist) in sorted(scenario._distributions.items(), key=lambda kv: name(kv[0])):
        if dist.family == "fixed":
            continue
        out.append(Parameter(name(path), "scenario", path, dist.frozen(value), float(value), dist.family,
                             "scenario file", "scenario"))
    return out


def _vaccine_parameters(scenario: Scenario, lib: Library) -> list[Parameter]:
    out = []
    for vaccine in sorted({a.vaccination.vaccine for a in scenario.arms if a.vaccination is not None}):
        for gi, grp in enumerate(lib.vaccines["vaccines"][vaccine]["age_groups"]):
            if "anchor_efficacy" not in grp:
                continue
            d = probability_distribution(float(grp["anchor_efficacy"]), grp.get("anchor_ci95"))
            if d.family == "fixed":
                continue
            out.append(Parameter(f"vaccine_efficacy.{vaccine}.from_age_{grp['from_age_years']:g}", "vaccines",
                                 ("vaccines", vaccine, "age_groups", gi, "anchor_efficacy"), d.frozen(),
                                 float(grp["anchor_efficacy"]), d.family, str(grp.get("citation", "")),
                                 str(grp.get("status", ""))))
    return out


def _economics_parameters(scenario: Scenario, types: set[str]) -> list[Parameter]:
    econ = scenario.arms[0].economics
    if econ is None:
        return []
    from jaksim.model.spec import build_model
    model = build_model(scenario, calibrate=False)
    currency = model.economics[0].currency
    vaccines = {a.vaccination.vaccine for a in scenario.arms if a.vaccination is not None}
    out = []
    for path, e in library_parameters(economics_library()):
        if path[0] == "currencies" and (path[1] != currency or (path[2] == "event_costs" and path[3] not in types)
                                        or (path[2] == "vaccines" and path[3] not in vaccines)
                                        or (path[2] == PHN and ZOSTER not in types)):
            continue
        if path[:2] == ("utility", "decrements") and path[2] not in types | {PHN}:
            continue
        if path[0] == "disease_activity" and not _activity_used(scenario, path, e):
            continue
        dist = entry_distribution(e)
        if dist is None or _economics_given(scenario, path):
            continue
        name = ".".join(str(p) for p in (path[2:] if path[0] == "currencies" else path))
        if path[:2] == ("disease_activity", "response_probability"):
            dose = f"{float(e['dose_mg']):g}".replace(".", "_")
            name = f"disease_activity.response_probability.{e['drug']}_{dose}mg"
        name = "event_costs." + name if name == PHN else name
        out.append(Parameter(name, "economics", path, dist, float(e["value"]), e.get("distribution", ""),
                             str(e.get("citation", "")), str(e.get("status", ""))))
    return out


def _activity_used(scenario: Scenario, path: tuple, e: dict) -> bool:
    """Whether some arm takes this disease-activity library value (the response probability:
    an arm of that drug and dose)."""
    for a in scenario.arms:
        da = a.economics.disease_activity if a.economics is not None else None
        if da is None:
            continue
        if path[1] == "response_probability":
            if (a.treatment.drug == e["drug"] and a.treatment.dose_mg == float(e["dose_mg"])
                    and (isinstance(da, str) or da.response_probability is None)):
                return True
        elif isinstance(da, str) or getattr(da, path[1]) is None:
            return True
    return False


_ECON_FIELD = {"outpatient": "cost", "hospitalised": "cost_hospitalised", "decrement": "utility_decrement",
               "duration_years": "duration_years"}


def _economics_given(scenario: Scenario, path: tuple) -> bool:
    """Whether every arm's economics section overrides this economics library value."""
    def given(econ) -> bool:
        if path[0] == "currencies" and path[2] == "event_costs":
            ev = econ.events.get(path[3])
            return ev is not None and getattr(ev, _ECON_FIELD[path[4]]) is not None
        if path[0] == "currencies" and path[2] == PHN:
            return econ.post_herpetic_neuralgia.cost is not None
        if path[0] == "currencies" and path[2] == "vaccines":
            return (econ.vaccine_cost_per_dose if path[4] == "cost_per_dose"
                    else econ.vaccine_administration_cost_per_dose) is not None
        if path[:2] == ("utility", "decrements"):
            ev = econ.post_herpetic_neuralgia if path[2] == PHN else econ.events.get(path[2])
            return ev is not None and getattr(ev, _ECON_FIELD[path[3]]) is not None
        if path[:2] == ("utility", "baseline_by_age"):
            return econ.baseline_utility is not None
        return False
    return all(a.economics is not None and given(a.economics) for a in scenario.arms)


def _arm_variance(e: dict, which: str, contrast_variance: float) -> float:
    """Variance of the log rate of one arm of a contrast: 1/events, else half the contrast's."""
    arms = e.get("arm_data") or {}
    events = (arms.get(which) or {}).get("events")
    return 1.0 / events if events else contrast_variance / 2.0


def correlation(group: Sequence[Parameter]) -> np.ndarray:
    """Correlation of the log ratios of one trial's contrasts (shared arms; see the module doc)."""
    n = len(group)
    sig = [float(p.dist.std() / p.dist.median()) if p.family != "lognormal" else float(p.dist.kwds["s"])
           for p in group]
    arms = []
    for p, s in zip(group, sig, strict=True):
        e = p.entry or {}
        arms.append({("t", ev.node(e["treatment"])): _arm_variance(e, "treatment", s * s),
                     ("c", ev.node(e["comparator"])): _arm_variance(e, "comparator", s * s)})
    r = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            cov = 0.0
            for (ri, ni), vi in arms[i].items():
                for (rj, nj), vj in arms[j].items():
                    if ni == nj:
                        cov += (1.0 if ri == rj else -1.0) * min(vi, vj)
            r[i, j] = r[j, i] = max(-0.99, min(0.99, cov / (sig[i] * sig[j]))) if sig[i] * sig[j] > 0 else 0.0
    w, v = np.linalg.eigh(r)                    # nearest positive-definite matrix if rounding broke it
    if w.min() <= 1e-9:
        r = (v * np.maximum(w, 1e-9)) @ v.T
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    return r


def draw_values(params: Sequence[Parameter], seed: int, draws: Sequence[int],
                scenario: Scenario | None = None) -> np.ndarray:
    """(len(draws), len(params)) drawn values: ppf of one keyed uniform per (parameter, draw).

    Jointly drawn through a Gaussian copula (marginals unchanged): the groups the scenario
    declares (``psa.correlations``, their matrix), else a trial's relative effects (shared-arm
    correlation). A ``psa.draws_file`` gives the values of its columns row by row, as given.
    """
    from scipy import special
    out = np.empty((len(draws), len(params)))
    u = np.empty((len(draws), len(params)))
    for j, p in enumerate(params):
        u[:, j] = [uniform(stream_key(seed, f"psa/{p.name}", int(d)), 0, 0) for d in draws]
    declared = _declared_groups(params, scenario)
    in_declared = {j for idx, _ in declared for j in idx}
    groups: dict[str, list[int]] = {}
    for j, p in enumerate(params):
        if p.group is not None and j not in in_declared:
            groups.setdefault(p.group, []).append(j)
    joint = declared + [(idx, correlation([params[j] for j in idx])) for idx in groups.values() if len(idx) > 1]
    for idx, r in joint:
        chol = np.linalg.cholesky(r)
        z = special.ndtri(u[:, idx]) @ chol.T
        u[:, idx] = special.ndtr(z)
    for j, p in enumerate(params):
        out[:, j] = p.dist.ppf(u[:, j])
    if scenario is not None and scenario.psa is not None and scenario.psa.draws_file:
        _apply_draws_file(out, params, draws, scenario)
    return out


def _declared_groups(params: Sequence[Parameter], scenario: Scenario | None) -> list[tuple[list[int], np.ndarray]]:
    """The scenario's ``psa.correlations`` as (parameter indices, correlation matrix)."""
    if scenario is None or scenario.psa is None:
        return []
    index = {p.name: j for j, p in enumerate(params)}
    out = []
    for i, c in enumerate(scenario.psa.correlations):
        unknown = [n for n in c.parameters if n not in index]
        if unknown:
            raise scenario.error(("psa", "correlations", i, "parameters"),
                                 f"not a drawn PSA parameter of this scenario: {', '.join(unknown)}; allowed: "
                                 f"{', '.join(sorted(index))[:600]}")
        r = np.array(c.correlation, dtype=float)
        if np.linalg.eigvalsh(r).min() <= 0:
            raise scenario.error(("psa", "correlations", i, "correlation"),
                                 "the correlation matrix is not positive definite")
        out.append(([index[n] for n in c.parameters], r))
    return out


def _apply_draws_file(out: np.ndarray, params: Sequence[Parameter], draws: Sequence[int],
                      scenario: Scenario) -> None:
    """Columns of the scenario's draws file replace the drawn values, draw d = row d."""
    from pathlib import Path
    assert scenario.psa is not None and scenario.psa.draws_file is not None
    p = Path(scenario.psa.draws_file)
    p = p if p.is_absolute() else scenario.base_dir / p
    at = ("psa", "draws_file")
    if not p.is_file():
        raise scenario.error(at, f"draws file not found: '{p}'")
    try:
        if p.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq
            table = pq.read_table(p)
        else:
            import pyarrow.csv as pcsv
            table = pcsv.read_csv(p)
    except Exception as exc:           # noqa: BLE001 - any reader failure is a user-file problem
        raise scenario.error(at, f"cannot read the draws file '{p}' ({type(exc).__name__}: {exc})") from None
    index = {q.name: j for j, q in enumerate(params)}
    unknown = [c for c in table.column_names if c not in index and c != "draw"]
    if unknown:
        raise scenario.error(at, f"column(s) {', '.join(unknown)} of '{p.name}' are not drawn PSA parameters of "
                                 "this scenario")
    last = max(int(d) for d in draws)
    if table.num_rows <= last:
        raise scenario.error(at, f"'{p.name}' has {table.num_rows} rows; draw {last} needs row {last}")
    for c in table.column_names:
        if c == "draw":
            continue
        col = table.column(c).to_numpy(zero_copy_only=False).astype(float)
        out[:, index[c]] = col[[int(d) for d in draws]]


def scenario_of_draw(scenario: Scenario, params: Sequence[Parameter],
                     values: Sequence[float] | np.ndarray) -> Scenario:
    """The scenario with a draw's values of the distributions it declares."""
    from jaksim.scenario.load import with_values
    return with_values(scenario, {p.location: float(v) for p, v in zip(params, values, strict=False)
                                  if p.library == "scenario"})


def shares_cohort(params: Sequence[Parameter]) -> bool:
    """Whether every draw can share the first draw's cohort chunks and vaccination schedules
    (no drawn value changes the cohort, a vaccination strategy or a screening strategy)."""
    return not any(p.library == "pathway" or p.library == "scenario" and any(
        k in p.location for k in ("cohort", "vaccination", "tb_screening", "vzv_screening")) for p in params)


def _set(root: dict, path: tuple, value: float) -> dict:
    """``root`` with the value at ``path`` replaced: the containers along the path are copied, the
    rest shared (a draw's library costs no deep copy of the whole library)."""
    out = dict(root) if isinstance(root, dict) else list(root)
    node = out
    for k in path[:-1]:
        child = node[k]
        node[k] = dict(child) if isinstance(child, dict) else list(child)
        node = node[k]
    node[path[-1]] = float(value)
    return out


def libraries(params: Sequence[Parameter], values: Sequence[float] | np.ndarray,
              base: Library | None = None) -> tuple[Library, dict]:
    """A parameter library and an economics library holding the given values (``base``: the
    scenario's library, user file merged; default the package's). Only the entries a draw
    changes are copied; everything else is shared with ``base`` (read only)."""
    from jaksim.library import load_library
    from jaksim.library.loader import load_economics
    base = base if base is not None else load_library()
    data, vaccines, evidence = base.data, base.vaccines, base.evidence
    econ = load_economics()
    for p, v in zip(params, values, strict=False):
        if p.library == "vaccines":
            vaccines = _set(vaccines, p.location, v)
        elif p.library == "pathway":             # a key path into parameters.yaml
            data = _set(data, p.location, v)
        elif p.library == "scenario":
            continue                    # applied to the scenario (scenario_of_draw)
        elif p.library in ("parameters", "evidence"):
            section, i, key = p.location
            path = ("mortality", "excess_mortality_ratio", key) if i is None else (section, i, key)
            if p.library == "parameters":
                data = _set(data, path, v)
            else:
                evidence = _set(evidence, path, v)
        else:
            econ = _set(econ, tuple(p.location) + ("value",), v)
    lib = Library(data, base.root, vaccines, evidence)
    lib._pops = base._pops_all()
    lib.user_file = base.user_file
    return lib, econ

