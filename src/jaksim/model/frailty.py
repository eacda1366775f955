"""The scenario's frailty resolved per infection type: variance θ_k and where it comes from.

A type's frailty variance is the scenario's number (``frailty: {type: {variance: θ}}``), the
library's sourced value (``library``), or 0 (``none``, the default, and ``library`` for a type
the library has no value for: stated as an assumption). See ``kernel/frailty.py`` for how the
kernel samples it and ``calibration.py`` for how calibration accounts for it.
"""

from __future__ import annotations

import numpy as np

from jaksim.library import Library
from jaksim.library.resolve import SCENARIO, assumption_record, library_record
from jaksim.scenario.frailty import TypeFrailty, frailty_choice
from jaksim.scenario.schema import Scenario


def frailty_variances(scenario: Scenario, types: tuple[str, ...], library: Library) -> tuple[np.ndarray, dict]:
    """Per type (in ``types`` order) the gamma frailty variance and its provenance record.

    Parameters
    ----------
    scenario : Scenario
        Its ``frailty`` setting.
    types : tuple of str
        The simulated infection types.
    library : Library
        Supplies ``frailty`` entries for ``library``.

    Returns
    -------
    (ndarray (K,), dict)
        Variances θ_k (0: no frailty) and ``{type: provenance record}``.
    """
    out = np.zeros(len(types))
    prov: dict = {}
    for k, name in enumerate(types):
        choice = frailty_choice(scenario.frailty, name)
        sourced = library.frailty_variance(name) if choice == "library" else None
        if isinstance(choice, TypeFrailty):
            out[k] = choice.variance
            prov[name] = {"value": choice.variance, "source": SCENARIO}
        elif sourced is not None:
            out[k] = sourced.value
            prov[name] = library_record(sourced)
        elif choice == "none":      # a stated choice (in the file, or the default), not an assumption
            prov[name] = {"value": 0.0, "source": SCENARIO if "frailty" in scenario.model_fields_set else "default",
                          "note": "frailty: none (every patient of a covariate pattern has the same hazard)"}
        else:
            prov[name] = {**assumption_record("no frailty variance for this type in the library: none assumed"),
                          "value": 0.0}
    return out, prov


def describe_frailty(arm_provenance: dict) -> str:
    """One line stating the frailty choice of a model (from an arm's provenance), e.g.
    ``frailty: herpes_zoster variance 0.42 (library), others none``."""
    prov = arm_provenance.get("frailty", {})
    given = [f"{name} variance {p['value']:g} ({'scenario' if p['source'] == SCENARIO else p['source']})"
             for name, p in prov.items() if p.get("value", 0.0) > 0.0]
    if not given:
        return "frailty: none (every patient of a covariate pattern has the same hazard)"
    rest = ", others none" if len(given) < len(prov) else ""
    return "frailty (per-patient gamma, mean 1, independent between types): " + ", ".join(given) + rest
