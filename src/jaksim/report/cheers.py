"""CHEERS 2022 checklist (Husereau et al., Value Health 2022;25:3-9), filled from what a results
folder records; items the outputs cannot know are marked as such, never guessed."""

from __future__ import annotations

from jaksim.report.data import Folder
from jaksim.report.sections import Section, Table, label

NOT_KNOWN = "not known from the outputs: to be reported by the analyst"
PERSPECTIVES = {"nice": "UK NHS and personal social services (implied by the NICE discount preset; not recorded)",
                "us": "US health care sector (implied by the US discount preset; not recorded)"}


def _first_arm(sc: dict) -> dict:
    """The resolved scenario's first arm (a list of arms), or {} for a scenario file (arms by name)."""
    arms = sc.get("arms")
    return arms[0] if isinstance(arms, list) and arms and isinstance(arms[0], dict) else {}


def _section(sc: dict, key: str) -> dict:
    value = _first_arm(sc).get(key) or sc.get(key)
    return value if isinstance(value, dict) else {}


def _economics(f: Folder) -> dict:
    """Currency, price year, discount rates and preset of the folder, as far as recorded."""
    econ: dict = {}
    raw = _section(f.scenario, "economics")
    econ["preset"] = raw.get("discount") if isinstance(raw.get("discount"), str) else None
    if f.kind == "run" and f.tables.get("economics"):
        r = next(iter(f.tables["economics"].values())).to_pylist()[0]
        econ.update(currency=r["currency"], price_year=r["price_year"], costs=r["discount_rate_costs"],
                    outcomes=r["discount_rate_outcomes"])
    elif f.kind == "psa":
        econ["currency"] = f.manifest.get("currency")
        d = raw.get("discount")
        if isinstance(d, dict):
            econ.update(costs=d.get("costs"), outcomes=d.get("outcomes"))
        elif d == "nice":
            econ.update(costs=0.035, outcomes=0.035)
        elif d == "us":
            econ.update(costs=0.03, outcomes=0.03)
    return econ


def _population(f: Folder) -> str:
    c = f.scenario.get("cohort") or {}
    if not c:
        return NOT_KNOWN
    if c.get("from_file"):
        return f"patients resampled from the file {c['from_file']}"
    age = c.get("age") or {}
    ind = c.get("indication", "ra")
    parts = [f"simulated cohort, indication {ind}"]
    if age.get("mean_years") is not None:
        parts.append(f"age {age['mean_years']:g} ± {age.get('sd_years', 0):g} years "
                     f"({age.get('min_years', '')}–{age.get('max_years', '')})")
    for key in ("female", "asia", "prior_zoster", "diabetes"):
        if isinstance(c.get(key), int | float):
            parts.append(f"{label(key)} {100 * c[key]:.0f}%")
    return "; ".join(parts)


def cheers_section(f: Folder) -> Section:
    s = Section("cheers", "CHEERS 2022 checklist")
    m, sc = f.manifest, f.scenario
    e = _economics(f)
    econ = f.has_economics
    na_econ = "not applicable: no economic evaluation in this folder (no economics section)"
    disc = (f"{100 * e['costs']:g}% a year for costs, {100 * e['outcomes']:g}% for health outcomes, continuous time"
            if e.get("costs") is not None else (NOT_KNOWN if econ else na_econ))
    cur = (f"{e.get('currency')}, price year {e.get('price_year', 'not recorded')}; no conversion or inflation "
           "applied by the model" if e.get("currency") else (NOT_KNOWN if econ else na_econ))
    model = ("individual-level (patient) Monte Carlo simulation in continuous time: piecewise-constant hazards, "
             "exact event times, death as a competing risk; no cycles")
    uncertainty = ("Monte Carlo 95% CIs; probabilistic sensitivity analysis of every uncertain library value"
                   + (" with one-way analysis (tornado)" if "one_way" in f.psa else "")
                   if f.kind == "psa" else "Monte Carlo 95% CIs only (parameter uncertainty: run `jaksim psa`)")
    items = [
        ("1", "Title", NOT_KNOWN), ("2", "Abstract", NOT_KNOWN), ("3", "Background and objectives",
                                                                 str(sc.get("description") or NOT_KNOWN)),
        ("4", "Health economic analysis plan", NOT_KNOWN),
        ("5", "Study population", _population(f)),
        ("6", "Setting and location", f"{NOT_KNOWN} (life table: "
         f"{_section(sc, 'mortality').get('life_table') or 'not recorded'})"),
        ("7", "Comparators", f"{', '.join(f.arms)} (reference: {f.reference})"),
        ("8", "Perspective", PERSPECTIVES.get(e.get("preset") or "", NOT_KNOWN) if econ else na_econ),
        ("9", "Time horizon", f"{float(m.get('horizon_years', 0)):g} years from treatment start"),
        ("10", "Discount rate", disc),
        ("11", "Selection of outcomes", "infection events per 100 patient-years, cumulative incidence, events "
         "averted" + ("; costs, QALYs, life-years, net monetary benefit" if econ else "")),
        ("12", "Measurement of outcomes", "simulated from published rates and hazard ratios (parameter table)"),
        ("13", "Valuation of outcomes", "age-dependent baseline utility minus event decrements (library "
         "economics.yaml or scenario)" if econ else na_econ),
        ("14", "Measurement and valuation of resources and costs", "event, vaccine and drug costs per unit "
         "(library economics.yaml or scenario; mostly placeholders with status 'assumption')" if econ else na_econ),
        ("15", "Currency, price date, and conversion", cur),
        ("16", "Rationale and description of model", model),
        ("17", "Analytics and assumptions", "see the parameter table (assumptions highlighted) and the README's "
         "'What is assumed'"),
        ("18", "Characterising heterogeneity", "rates by stratum (age, attained age, glucocorticoid band, region, "
         "sex, indication) in this report" if f.kind == "run" else "not in a PSA folder (see the run's report)"),
        ("19", "Characterising distributional effects", NOT_KNOWN),
        ("20", "Characterising uncertainty", uncertainty),
        ("21", "Approach to engagement with patients and others affected by the study", NOT_KNOWN),
        ("22", "Study parameters", "parameter table in this report, with sources and status"),
        ("23", "Summary of main results", "summary, contrasts" + (" and cost-effectiveness" if econ else "")
         + " sections of this report"),
        ("24", "Effect of uncertainty", "CE plane, CEAC/CEAF, EVPI" + (", tornado" if "one_way" in f.psa else "")
         if f.kind == "psa" and econ else "Monte Carlo CIs only in a deterministic run"),
        ("25", "Effect of engagement with patients and others affected by the study", NOT_KNOWN),
        ("26", "Study findings, limitations, generalisability, and current knowledge", NOT_KNOWN),
        ("27", "Source of funding", NOT_KNOWN), ("28", "Conflicts of interest", NOT_KNOWN)]
    rows = [[n, t, v] for n, t, v in items]
    flagged = [v.startswith("not known") for _, _, v in items]
    s.tables.append(Table("CHEERS 2022 items filled from the folder's metadata; highlighted: not known from the "
                          "outputs", ["item", "topic", "reported"], rows, flagged))
    s.notes.append(f"{sum(flagged)} of 28 items cannot be filled from the outputs and are left to the analyst.")
    return s
