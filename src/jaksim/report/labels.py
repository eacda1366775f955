"""Readable names, with units, of PSA parameters (``hazard_ratio.herpes_zoster.diabetes`` →
"Hazard ratio of diabetes, herpes zoster"), for tornado diagrams and tables."""

from __future__ import annotations

_TYPES = {"serious_infection": "serious infection", "herpes_zoster": "herpes zoster",
          "opportunistic_infection": "opportunistic infection", "tuberculosis": "tuberculosis",
          "post_herpetic_neuralgia": "post-herpetic neuralgia", "pneumonia": "pneumonia",
          "upper_respiratory_tract_infection": "URTI", "urinary_tract_infection": "UTI", "cellulitis": "cellulitis"}
_COVARIATES = {"age_per_10_years": "age (per 10 years)", "glucocorticoid_up_to_5mg": "glucocorticoid ≤ 5 mg/day",
               "glucocorticoid_over_5_to_10mg": "glucocorticoid > 5–10 mg/day",
               "glucocorticoid_over_10mg": "glucocorticoid > 10 mg/day", "female": "female sex",
               "concomitant_csdmard": "concomitant csDMARD",
               "asia": "Asia", "prior_zoster": "prior zoster", "diabetes": "diabetes",
               "zoster_vaccinated": "earlier zoster vaccination", "chronic_lung_disease": "chronic lung disease"}


def _t(x: str) -> str:
    return _TYPES.get(x, x.replace("_", " "))


def parameter_label(name: str, currency: str = "") -> str:
    """A PSA parameter's name as a reader would write it, with its unit."""
    parts = name.split(".")
    head = parts[0]
    money = f" ({currency})" if currency else ""
    if head == "hazard_ratio" and len(parts) == 3:
        return f"Hazard ratio of {_COVARIATES.get(parts[2], parts[2])}, {_t(parts[1])}"
    if head == "relative_effect":
        return f"Relative effect vs csDMARD: {parts[1].replace('_', ' ')}"
    if head == "baseline":
        return f"Baseline rate on csDMARD (per 100 PY): {parts[1].replace('_', ' ')}"
    if head == "rate" and len(parts) >= 5:
        return f"Programme rate (per 100 PY), {parts[1]} {parts[2]}, {_t(parts[-1])}"
    if head.endswith("_probability") and len(parts) == 2:
        return f"P({head.removesuffix('_probability').replace('_', ' ')} | {_t(parts[1])})"
    if head == "event_costs" and len(parts) >= 2:
        kind = f", {parts[2]}" if len(parts) > 2 else ""
        return f"Cost per {_t(parts[1])} episode{kind}{money}"
    if head == "utility" and len(parts) >= 3 and parts[1] == "decrements":
        what = "utility decrement" if parts[-1] == "decrement" else "decrement duration (years)"
        return f"{_t(parts[2]).capitalize()}: {what}"
    if head == "utility" and len(parts) >= 3 and parts[1] == "baseline_by_age":
        return f"Baseline utility, age group {parts[2]}"
    if head == "vaccine_efficacy":
        return f"Vaccine efficacy, {parts[1]}, {' '.join(parts[2:]).replace('_', ' ')}"
    if head == "discontinuation_rate":
        return f"Discontinuation rate (per 100 PY), {parts[1]}"
    if head == "off_treatment_hazard_ratio":
        return f"Hazard ratio off treatment, {_t(parts[1])}"
    if head == "excess_mortality_ratio":
        return "Excess mortality ratio (RA vs general population)"
    if head == "vaccines" and len(parts) >= 3:
        return f"Vaccine {parts[-1].replace('_', ' ')}, {parts[1]}{money}"
    return name.replace("_", " ")
