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


def _probability(path: tuple, e: dict) -> tuple[tuple, dict, Any] | None:
    d = probability_distribution(float(e["value"]), e.get("ci95"))
    return None if d.family == "fixed" else (path, e, d)


def _latent_tb_uses(scenario: Scenario, data: dict) -> list[tuple[tuple, dict, Any]]:
    """The latent TB values some arm takes from the library, with their distributions."""
    lib = data.get("latent_tuberculosis")
    found: dict[tuple, tuple] = {}
    for arm in scenario.arms:
        s = arm.tb_screening
        if s is None or lib is None:
            continue
        setting = arm.infections["tuberculosis"].background_incidence
        keys: list[tuple] = []
        if s.latent_prevalence is None and setting:
            keys.append(("prevalence", setting))
        if s.reactivation_share is None:
            keys.append(("reactivation_share",))
        bcg = bool(lib["bcg_vaccinated"][setting]) if setting else False
        spec = "specificity_bcg_vaccinated" if bcg else "specificity_bcg_unvaccinated"
        for test in {"none": (), "igra": ("igra",), "tst": ("tst",), "igra_then_tst": ("igra", "tst")}[s.test]:
            if s.sensitivity is None:           # a pair's accuracy is computed from its two tests' values
                keys.append(("tests", test, "sensitivity"))
            if s.specificity is None:
                keys.append(("tests", test, spec))
        for q in ("completion", "efficacy", "hepatotoxicity"):
            if getattr(s, q) is None:
                keys.append(("prophylaxis", s.prophylaxis, q))
        for k in keys:
            node: Any = lib
            for part in k:
                node = node[part]
            got = _probability(("latent_tuberculosis", *k, "value"), node)
            if got is not None:
                found[k] = got
    return list(found.values())


def _vzv_uses(scenario: Scenario, data: dict) -> list[tuple[tuple, dict, Any]]:
    """The VZV serostatus values some arm takes from the library, with their distributions."""
    lib = data.get("varicella_zoster_serostatus")
    arms = [a.vzv_screening for a in scenario.arms if a.vzv_screening is not None]
    if lib is None or not arms:
        return []
    found: list[tuple[tuple, dict, Any]] = []
    regions = getattr(scenario.cohort, "region", None)
    shown = ({"unspecified"} if regions is None or isinstance(regions, str) and regions == "unspecified"
             else {regions} if isinstance(regions, str) else {r for r, v in regions.items() if v > 0})
    if any(a.seronegative_share is None for a in arms):
        for r, e in lib["seronegative_share"].items():
            if r in shown or (r == "unspecified" and shown - set(lib["seronegative_share"])):
                got = _probability(("varicella_zoster_serostatus", "seronegative_share", r, "value"), e)
                if got is not None:
                    found.append(got)
    if any(a.protection is None and a.vaccinate_seronegative for a in arms):
        got = _probability(("varicella_zoster_serostatus", "vaccine", "protection", "value"),
                           lib["vaccine"]["protection"])
        if got is not None:
            found.append(got)
    foi = lib["force_of_infection_per_100py"]
    if "varicella" in scenario.arms[0].infections and scenario.arms[0].infections["varicella"].rate_per_100py is None:
        from jaksim.economics.costs_qalys import entry_distribution
        if entry_distribution({**foi, "distribution": "gamma"}) is not None:
            found.append((("varicella_zoster_serostatus", "force_of_infection_per_100py", "value"), foi, "gamma"))
    return found


def pathway_parameters(scenario: Scenario, lib: Library, parameter) -> list:
    """``Parameter`` records (class ``parameter``) of the pathway values the scenario draws."""
    out = []
    for path, e, d in _latent_tb_uses(scenario, lib.data) + _vzv_uses(scenario, lib.data):
        if d == "gamma":
            from jaksim.economics.costs_qalys import entry_distribution
            frozen, family = entry_distribution({**e, "distribution": "gamma"}), "gamma"
        else:
            frozen, family = d.frozen(), d.family
        name = ".".join(str(p) for p in path[:-1])
        out.append(parameter(name, "pathway", path, frozen, float(e["value"]), family, str(e.get("citation", "")),
                             str(e.get("status", ""))))
    return out


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
