"""Readable names, with units, of PSA parameters (``hazard_ratio.herpes_zoster.diabetes`` →
"Hazard ratio of diabetes, herpes zoster"), for tornado diagrams and tables."""

from __future__ import annotations

from functools import lru_cache

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


def _arm(t: dict) -> str:
    what = t.get("drug") or t.get("drug_class", "")
    what = {"csdmard": "csDMARD", "tnf_inhibitor": "TNF inhibitor"}.get(what, what)
    dose = t.get("dose_mg")
    return f"{what} {dose:g} mg" if isinstance(dose, (int, float)) else str(what)


@lru_cache(maxsize=1)
def _evidence_labels() -> dict[str, str]:
    """Relative effects and baselines of the shipped library by id, as a reader names them:
    "Risk ratio, SELECT-COMPARE: herpes zoster, upadacitinib 15 mg vs adalimumab 40 mg"."""
    from jaksim.library.loader import load_evidence
    ev = load_evidence()
    trials = {t["id"]: t.get("name", t["id"]) for t in ev.get("trials", [])}
    out = {}
    for r in ev.get("relative_effects", []):
        measure = str(r.get("measure", "relative effect")).replace("_", " ").capitalize()
        where = f", {trials.get(r['trial'], r['trial'])}" if r.get("trial") else ""
        kind = f"{_t(r['type'])}, " if r.get("type") else ""
        out[f"relative_effect.{r['id']}"] = (f"{measure}{where}: {kind}{_arm(r['treatment'])} vs "
                                             f"{_arm(r['comparator'])}")
    for b in ev.get("baselines", []):
        out[f"baseline.{b['id']}"] = (f"Baseline rate on csDMARD (per 100 PY), {str(b['indication']).upper()}, "
                                      f"{_t(b['type'])} ({b['id']})")
    return out


def _latent_tb_label(parts: list[str]) -> str:
    """``prevalence.high``, ``tests.igra.sensitivity``, ``prophylaxis.4R.completion``, ... as words."""
    if parts[0] == "prevalence":
        return f"prevalence, {parts[1]} burden"
    if parts[0] == "tests" and len(parts) == 3:
        what = parts[2].replace("_bcg_", " (BCG ").replace("specificity", "specificity")
        return f"{parts[1].upper()} {what}{')' if '(BCG' in what else ''}"
    if parts[0] == "prophylaxis" and len(parts) == 3:
        return f"{parts[1]} prophylaxis {parts[2]}"
    return " ".join(p.replace("_", " ") for p in parts)


def parameter_label(name: str, currency: str = "") -> str:
    """A PSA parameter's name as a reader would write it, with its unit."""
    parts = name.split(".")
    head = parts[0]
    money = f" ({currency})" if currency else ""
    if head == "hazard_ratio" and len(parts) == 3:
        return f"Hazard ratio of {_COVARIATES.get(parts[2], parts[2])}, {_t(parts[1])}"
    if head in ("relative_effect", "baseline") and name in _evidence_labels():
        return _evidence_labels()[name]
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
    if head == "disease_activity" and len(parts) >= 2:
        what = {"response_probability": "P(disease controlled on treatment)",
                "response_onset_weeks": "Weeks from treatment start to response",
                "loss_of_response_per_year": "Loss of response (per patient-year)",
                "utility_decrement_uncontrolled": "Utility decrement while disease is uncontrolled",
                }.get(parts[1], parts[1])
        return what + (f", {parts[2].replace('_', ' ')}" if len(parts) > 2 else "")
    if head == "excess_mortality_ratio":
        return "Excess mortality ratio (RA vs general population)"
    if head == "frailty_variance" and len(parts) == 2:
        return f"Frailty variance, {_t(parts[1])}"
    if head == "latent_tuberculosis" and len(parts) >= 2:
        return "Latent TB: " + _latent_tb_label(parts[1:])
    if head == "varicella_zoster_serostatus" and len(parts) >= 2:
        return {"seronegative_share": f"VZV seronegative share, {parts[-1].replace('_', ' ')}",
                "force_of_infection_per_100py": "Primary varicella among the seronegative (per 100 PY)",
                "vaccine": "Protection by two varicella doses"}.get(parts[1], ".".join(parts[1:]))
    if head == "vaccines" and len(parts) >= 3:
        return f"Vaccine {parts[-1].replace('_', ' ')}, {parts[1]}{money}"
    return name.replace("_", " ")
