"""``docs/parameters.md``: the parameter library as a document, generated from the data files.

Regenerate with ``jaksim params --markdown > docs/parameters.md``; a test keeps the two in sync.
"""

from __future__ import annotations

import numpy as np

from jaksim.library import Library
from jaksim.library.uncertainty import distribution
from jaksim.model.calibration import calibrate
from jaksim.scenario.schema import BINARY_COVARIATES, GLUCOCORTICOID_BANDS


def library_hazard_model(lib: Library, infection_type: str, drug: str | None = None,
                         dose_mg: float | None = None) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The library's default hazard ratios of a type (for ``drug`` and ``dose_mg``: with their
    interaction entries): (log HR by covariate, HR by GC band, log HR per year of age, reference
    age). Missing entries are 1 (no effect)."""
    def hr(cov: str) -> float:
        s = lib.hazard_ratio(infection_type, cov, drug, dose_mg)
        return s.value if s else 1.0
    log_hr = np.log([hr(c) for c in BINARY_COVARIATES])
    hr_gc = np.array([1.0] + [hr(f"glucocorticoid_{b}") for b in GLUCOCORTICOID_BANDS[1:]])
    age = lib.hazard_ratio(infection_type, "age_per_10_years", drug, dose_mg)
    ref = dict(age.extra).get("reference_age", 50.0) if age else 50.0
    return log_hr, hr_gc, (np.log(age.value) / 10.0 if age else 0.0), float(ref)


def _cite(e: dict) -> str:
    doi = e.get("doi") or e.get("doi_or_url")
    return (str(e.get("citation", "")).replace("|", "/") + (f" doi:{doi}" if doi else "")).strip()


def _ci(ci) -> str:
    return f"{ci[0]:g}–{ci[1]:g}" if ci and ci[0] is not None and ci[1] is not None else "–"


def _note(e: dict) -> str:
    return str(e.get("note", "") or "").replace("|", "/").replace("\n", " ")


def parameters_markdown(lib: Library) -> str:
    """The whole library as Markdown: values, CIs, PSA distributions, calibration, sources."""
    out = ["# Parameter library", "",
           "Generated from `src/jaksim/library/*.yaml` by `jaksim params --markdown`; do not edit by hand.",
           ("Status: **read** = number read in the source; **computed** = arithmetic on read numbers "
            "(shown in the note); **assumption** = not from a source (the note says why)."),
           ("PSA distribution: what a probabilistic sensitivity analysis draws (see "
            "`jaksim/library/uncertainty.py`)."), ""]
    from jaksim.report.assumptions import library_status_counts
    from jaksim.report.evidence_document import evidence_sections, status_table
    out += status_table(library_status_counts(lib)) + evidence_sections(lib)
    out += ["## Programme rates (`evidence: programme_rates`, and the fallback where the network has no "
            "evidence for a drug and type)", ""]
    out += _rates(lib)[2:] + _ratios_and_probabilities(lib) + _latent_tb(lib) + _mortality(lib)
    out += _source_populations(lib)
    return "\n".join(out) + "\n"


def _latent_tb(lib: Library) -> list[str]:
    """Latent TB at the start, screening tests and prophylaxis (``tb_screening``)."""
    from jaksim.library.entries import section_entries
    out = ["", "## Latent tuberculosis, screening and prophylaxis (`tb_screening`)", "",
           "Prevalence by the setting's background TB incidence; sensitivity and specificity of IGRA and TST "
           "(BCG-vaccinated specificity in medium and high settings); completion, efficacy (completers cured) and "
           "grade 3-4 hepatotoxicity per regimen. Costs: `economics.yaml`, `currencies.<currency>.tb_screening`.", "",
           "| value of | value (95% CI) | status | source | note |", "|---|---|---|---|---|"]
    for path, e in section_entries(lib.data, "latent_tuberculosis"):
        out.append(f"| {path} | {e['value']:g} ({_ci(e.get('ci95'))}) | {e['status']} | {_cite(e)} | {_note(e)} |")
    out += ["", "## VZV serostatus, serology and varicella vaccination (`vzv_screening`)", "",
            "Seronegative share by region (regions not listed: `unspecified`); serology accuracy; primary varicella "
            "rate among the susceptible (type `varicella`); live varicella vaccine. Costs: `economics.yaml`, "
            "`currencies.<currency>.vzv_screening` and `event_costs.varicella`.", "",
            "| value of | value (95% CI) | status | source | note |", "|---|---|---|---|---|"]
    for path, e in section_entries(lib.data, "varicella_zoster_serostatus"):
        out.append(f"| {path} | {e['value']:g} ({_ci(e.get('ci95'))}) | {e['status']} | {_cite(e)} | {_note(e)} |")
    return out


def _rates(lib: Library) -> list[str]:
    """Infection rates: published, reference (calibrated) rate, PSA distribution, source."""
    out = ["## Infection rates (per 100 patient-years)", "",
           ("*Published* is the rate in its source population; *reference* is the rate of the model's "
            "reference patient (male, non-Asian, no glucocorticoid, no diabetes or prior zoster, at the "
            "reference age) that reproduces the published rate in the source population under the "
            "library's hazard ratios (marginal calibration, `jaksim/calibration.py`). A scenario that "
            "changes hazard ratios is recalibrated with its own. A rate without a described source "
            "population is uncalibrated (the published rate is the reference rate). Where the drug has a "
            "time-on-treatment profile, the simulated reference rate is this one divided by the profile's mean "
            "over the rate's window (see *Time-on-treatment profiles*)."), "",
           ("| drug | dose mg | indication | type | published (95% CI) | measure | reference | source population | "
            "PSA distribution | status | source | note |"), "|" + "---|" * 12]
    for e in lib.data.get("rates", []):
        ind = e.get("indication", "ra")
        pop = lib.source_population(e["drug"], e["dose_mg"], e["type"], ind)
        if pop is not None:
            cal = calibrate(float(e["rate_per_100py"]), e.get("measure") or "first_event", pop,
                            *library_hazard_model(lib, e["type"], e["drug"], e["dose_mg"]))
            ref, pid = f"{cal.reference_rate_per_100py:.3g}", pop.id
        else:
            ref, pid = "(uncalibrated)", "–"
        out.append(f"| {e['drug']} | {e['dose_mg']:g} | {ind} | {e['type']} | {e['rate_per_100py']:g} "
                   f"({_ci(e.get('ci95_per_100py'))}) | {e.get('measure', '')}{_window(e)} | {ref} | {pid} | "
                   f"{distribution('rates', e).derivation} | {e['status']} | {_cite(e)} | {_note(e)} |")
    return out


def _ratios_and_probabilities(lib: Library) -> list[str]:
    """Hazard ratios, consequences of an event, discontinuation, off-treatment hazard ratios."""
    out = ["", "## Hazard ratios", "", "| type | covariate | HR (95% CI) | PSA distribution | status | source | note |",
           "|" + "---|" * 7]
    for e in lib.data.get("hazard_ratios", []):
        ref = f", reference age {e['reference_age']:g}" if "reference_age" in e else ""
        out.append(f"| {e['type']} | {e['covariate']}{ref} | {e['hazard_ratio']:g} ({_ci(e.get('ci95'))}) | "
                   f"{distribution('hazard_ratios', e).derivation} | {e['status']} | {_cite(e)} | {_note(e)} |")
    out += ["", "## Consequences of an event (probabilities)", "",
            "| type | quantity | probability (95% CI) | PSA distribution | status | source | note |", "|" + "---|" * 7]
    for e in lib.data.get("consequences", []):
        out.append(f"| {e['type']} | {e['quantity']} | {e['probability']:g} ({_ci(e.get('ci95'))}) | "
                   f"{distribution('consequences', e).derivation} | {e['status']} | {_cite(e)} | {_note(e)} |")
    out += ["", "## Treatment discontinuation (all causes, per 100 patient-years)", "",
            "| drug | rate | status | source | note |", "|---|---|---|---|---|"]
    for e in lib.data.get("discontinuation", []):
        out.append(f"| {e['drug']} | {e['rate_per_100py']:g} | {e['status']} | {_cite(e)} | {_note(e)} |")
    out += ["", "## Hazard ratio after stopping treatment", "", "| type | HR | status | source | note |",
            "|---|---|---|---|---|"]
    for e in lib.data.get("off_treatment_hazard_ratio", []):
        out.append(f"| {e['type']} | {e['hazard_ratio']:g} | {e['status']} | {_cite(e)} | {_note(e)} |")
    out += ["", "## Frailty (`frailty: library`): variance of a per-patient gamma frailty (mean 1)", "",
            "Types not listed have no frailty. A scenario without a `frailty` key has none (`frailty: none`).", "",
            "| type | variance (95% CI) | status | source | note |", "|---|---|---|---|---|"]
    for e in lib.data.get("frailty", []):
        out.append(f"| {e['type']} | {e['variance']:g} ({_ci(e.get('ci95'))}) | {e['status']} | {_cite(e)} | "
                   f"{_note(e)} |")
    return out + _profiles(lib)


def _window(rate: dict) -> str:
    w = rate.get("window_years")
    return "" if w is None else f" (short window: {w:g} y)"


def _end(period: dict) -> str:
    return "end" if period.get("to_years") is None else f"{period['to_years']:g}"


def _profiles(lib: Library) -> list[str]:
    """Time-on-treatment profiles with the period rates they were derived from."""
    out = ["", "## Time-on-treatment profiles", "",
           ("Hazard multiplier by years on treatment, relative to the first period; used by default "
            "(`time_on_treatment_profile: library`) for library rates, each rate normalised over the window it "
            "was measured in (`jaksim/model/time_on_treatment.py`)."), "",
           "| drug | type | edges (years) | multipliers | period rates (95% CI) | status | source | note |",
           "|" + "---|" * 8]
    for e in lib.data.get("time_on_treatment_profiles", []):
        periods = "; ".join(f"[{p['from_years']:g}, {_end(p)}) {p['rate_per_100py']:g} "
                            f"({_ci(p.get('ci95_per_100py'))}): {p['source']}" for p in e.get("periods", []))
        out.append(f"| {e.get('drug') or 'every'} | {e['type']} | "
                   f"{', '.join(f'{x:g}' for x in e.get('edges_years', [])) or '–'} | "
                   f"{', '.join(f'{x:g}' for x in e.get('multipliers', [])) or '1 (constant)'} | {periods or '–'} | "
                   f"{e['status']} | {_cite(e)} | {_note(e)} |")
    return out


def _mortality(lib: Library) -> list[str]:
    """Excess mortality ratio and life tables."""
    mort = lib.data.get("mortality") or {}
    out = ["", "## Mortality", ""]
    if "excess_mortality_ratio" in mort:
        e = mort["excess_mortality_ratio"]
        out.append(f"* Excess mortality ratio (RA vs general population): {e['value']:g} ({_ci(e.get('ci95'))}), "
                   f"{e['status']}; {_cite(e)}. {_note(e)}")
    for name, t in mort.get("life_tables", {}).items():
        out.append(f"* Life table `{name}` (`{t['file']}`): {t.get('description', '')} {t['status']}; {_cite(t)}")
    return out


def _source_populations(lib: Library) -> list[str]:
    """Source populations the rates are calibrated to (each once)."""
    out = ["", "## Source populations (for calibration)", "",
           "| id | mean age | female | Asia | GC users ≤5 / >5–10 / >10 mg | mean follow-up (y) | assumptions |",
           "|---|---|---|---|---|---|---|"]
    seen = set()
    pops = lib.source_populations()
    for key in sorted(pops):
        pop = pops[key]
        if pop.id in seen:
            continue
        seen.add(pop.id)
        out.append(f"| {pop.id} | {pop.age_mean_years:g} (SD {pop.age_sd_years:g}) | {pop.shares['female']:g} | "
                   f"{pop.shares['asia']:g} | {' / '.join(f'{x:g}' for x in pop.glucocorticoid_shares)} | "
                   f"{pop.follow_up_years:.3g} | {'; '.join(pop.assumptions)} |")
    return out
