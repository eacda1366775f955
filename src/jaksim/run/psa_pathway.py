"""PSA parameters of the care pathway and of frailty: which library values a scenario's arms use.

Latent TB (``latent_tuberculosis``) and VZV serostatus (``varicella_zoster_serostatus``)
values are drawn where an arm takes them from the library: probabilities with a 95% CI as beta
by moments, the force of infection as gamma by moments, values without a CI fixed. Gamma
frailty variances (``frailty: library``) with a CI are drawn log-normal. A drawn pathway value
changes the patients' schedules, so such a PSA makes them per draw (``shares_cohort``).
"""

from __future__ import annotations

from typing import Any

from jaksim.library import Library
from jaksim.library.uncertainty import probability_distribution, ratio_distribution
from jaksim.scenario.frailty import frailty_choice
from jaksim.scenario.schema import Scenario


def _probability(path: tuple, e: dict) -> list[tuple[tuple, dict, Any, str]]:
    """[(path, entry, frozen beta, family)] of a probability with a 95% CI; [] when fixed."""
    d = probability_distribution(float(e["value"]), e.get("ci95"))
    return [] if d.family == "fixed" else [(path, e, d.frozen(), d.family)]


def _latent_tb_uses(scenario: Scenario, data: dict) -> list[tuple[tuple, dict, Any, str]]:
    """The latent TB values some arm takes from the library, with their distributions."""
    lib = data.get("latent_tuberculosis")
    keys: dict[tuple, None] = {}                 # ordered, each once
    for arm in scenario.arms:
        s = arm.tb_screening
        if s is None or lib is None:
            continue
        setting = arm.infections["tuberculosis"].background_incidence
        if s.latent_prevalence is None and setting:
            keys[("prevalence", setting)] = None
        if s.reactivation_share is None:
            keys[("reactivation_share",)] = None
        bcg = bool(lib["bcg_vaccinated"][setting]) if setting else False
        spec = "specificity_bcg_vaccinated" if bcg else "specificity_bcg_unvaccinated"
        for test in {"none": (), "igra": ("igra",), "tst": ("tst",), "igra_then_tst": ("igra", "tst")}[s.test]:
            if s.sensitivity is None:           # a pair's accuracy is computed from its two tests' values
                keys[("tests", test, "sensitivity")] = None
            if s.specificity is None:
                keys[("tests", test, spec)] = None
        for q in ("completion", "efficacy", "hepatotoxicity"):
            if getattr(s, q) is None:
                keys[("prophylaxis", s.prophylaxis, q)] = None
    out = []
    for k in keys:
        node: Any = lib
        for part in k:
            node = node[part]
        out += _probability(("latent_tuberculosis", *k, "value"), node)
    return out


def _vzv_uses(scenario: Scenario, data: dict) -> list[tuple[tuple, dict, Any, str]]:
    """The VZV serostatus values some arm takes from the library, with their distributions."""
    lib = data.get("varicella_zoster_serostatus")
    arms = [a.vzv_screening for a in scenario.arms if a.vzv_screening is not None]
    if lib is None or not arms:
        return []
    out = []
    shares = lib["seronegative_share"]
    if any(a.seronegative_share is None for a in arms):
        given = getattr(scenario.cohort, "region", None) or {"unspecified": 1.0}
        used = {r if r in shares else "unspecified" for r, v in given.items() if v > 0}   # as resolve_vzv reads them
        for r in sorted(used):
            out += _probability(("varicella_zoster_serostatus", "seronegative_share", r, "value"), shares[r])
    if any(a.protection is None and a.vaccinate_seronegative for a in arms):
        out += _probability(("varicella_zoster_serostatus", "vaccine", "protection", "value"),
                            lib["vaccine"]["protection"])
    varicella = scenario.arms[0].infections.get("varicella")
    if varicella is not None and varicella.rate_per_100py is None:
        from jaksim.economics.costs_qalys import entry_distribution
        foi = lib["force_of_infection_per_100py"]
        frozen = entry_distribution({**foi, "distribution": "gamma"})     # gamma by moments of the CI
        if frozen is not None:
            out.append((("varicella_zoster_serostatus", "force_of_infection_per_100py", "value"), foi, frozen, "gamma"))
    return out


def pathway_parameters(scenario: Scenario, lib: Library, parameter) -> list:
    """``Parameter`` records (class ``parameter``) of the pathway values the scenario draws."""
    return [parameter(".".join(str(p) for p in path[:-1]), "pathway", path, frozen, float(e["value"]), family,
                      str(e.get("citation", "")), str(e.get("status", "")))
            for path, e, frozen, family in _latent_tb_uses(scenario, lib.data) + _vzv_uses(scenario, lib.data)]


def frailty_parameters(scenario: Scenario, lib: Library, types: set[str], parameter) -> list:
    """The library frailty variances the scenario uses (``frailty: library`` or per type)."""
    out = []
    for i, e in enumerate(lib.data.get("frailty", [])):
        if e["type"] not in types or frailty_choice(scenario.frailty, e["type"]) != "library":
            continue
        d = ratio_distribution(float(e["variance"]), e.get("ci95"))
        if d.family == "fixed":
            continue
        out.append(parameter(f"frailty_variance.{e['type']}", "parameters", ("frailty", i, "variance"), d.frozen(),
                             float(e["variance"]), d.family, str(e.get("citation", "")), str(e.get("status", ""))))
    return out
