"""Codes shared across jaksim's layers, one definition each.

The kernel writes exit reasons and event flag bits as small integers; the output tables, the
accumulators, the economics and the tests decode them here. Infection-type names that code
refers to (herpes zoster, post-herpetic neuralgia), the last tabulated age and the random
stream names live here too. Units throughout jaksim: times in years since the planned
treatment start, rates per patient-year, ages in years.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jaksim.kernel.keys import stream_id

# ----------------------------------------------------------------------------- exit reasons
#: ``patients.exit_reason`` codes (int8), in the order of ``EXIT_REASONS``
EXIT_HORIZON, EXIT_BACKGROUND_DEATH, EXIT_INFECTION_DEATH = 0, 1, 2
EXIT_REASONS = ("end_of_horizon", "background_death", "infection_death")

# ----------------------------------------------------------------------------- event flags
#: bits of an event's flags (uint8): the patient was on treatment at the event; the event was
#: hospitalised, serious, fatal; it stopped treatment; post-herpetic neuralgia followed
ON_TREATMENT, HOSPITALISED, SERIOUS, FATAL, STOPS_TREATMENT, POST_HERPETIC_NEURALGIA = 1, 2, 4, 8, 16, 32

# ----------------------------------------------------------------------------- names and ages
#: the infection type a zoster vaccine protects against
ZOSTER = "herpes_zoster"
#: the infection type latent TB screening and prophylaxis act on (``model/latent_tb.py``)
TUBERCULOSIS = "tuberculosis"
#: primary varicella: only VZV-seronegative patients can have it (``model/vzv_serostatus.py``)
VARICELLA = "varicella"
#: post-herpetic neuralgia: a consequence of zoster, counted and costed as an outcome of its own
PHN = "post_herpetic_neuralgia"
#: last completed age (years) of the age-indexed tables (mortality, age hazard ratios, PHN, utility)
MAX_AGE = 120
#: factor on a clock's cumulative-hazard upper bound before the lazy Exp(1) draw: a target above
#: the bound is left at +inf without a log, and the factor keeps rounding from ever putting a
#: reachable target above it
BOUND_FACTOR = 1.0000001

# ----------------------------------------------------------------------------- patient categories
#: glucocorticoid bands at a time, mg/day prednisone-equivalent: none, <= 5, > 5-10, > 10 (int8
#: codes 0..B-1, the columns of the kernel's glucocorticoid hazard ratios)
GLUCOCORTICOID_BANDS = ("none", "up_to_5mg", "over_5_to_10mg", "over_10mg")
#: regions (int8 codes 0..R-1, the columns of the kernel's region hazard ratios); 0: not given
REGIONS = ("unspecified", "north_america", "western_europe", "eastern_europe", "latin_america",
           "japan", "korea_taiwan", "china", "other_asia")

# ----------------------------------------------------------------------------- random streams
#: Every random stream of jaksim (``kernel.keys.stream_key`` names) and what it drives.
#: ``{type}`` is an infection type, ``{name}`` a cohort characteristic, ``{parameter}`` a PSA
#: parameter. A stream's numbers depend on its name only, so names must never be reused.
STREAMS: dict[str, str] = {
    "clock/{type}": "Exp(1) targets of the type's events (kernel)",
    "consequence/{type}": "fatal / hospitalised / serious / treatment stop / PHN draws per event (kernel)",
    "death/background": "Exp(1) target of background death (kernel)",
    "treatment/discontinuation": "time to discontinuation of treatment (kernel)",
    "cohort/{name}": "synthetic cohort: age, age band, glucocorticoid band, indication, region, covariates",
    "cohort/resample": "rows drawn from a user's patient table",
    "vaccination/uptake": "who accepts the vaccine offered",
    "vaccination/second_dose": "who completes the second dose",
    "pathway/enrolment": "planned referral week in the care pathway",
    "pathway/no_show": "missed appointments in the care pathway",
    "pathway/screening_no_show": "missed latent TB screening appointments in the care pathway",
    "psa/{parameter}": "one uniform per PSA parameter and draw",
    "screening/latent_tb": "who has latent TB infection at the start, same in every arm",
    "screening/test": "latent TB test results (counter 0 IGRA, 1 TST), same in every arm",
    "screening/prophylaxis": "prophylaxis completion (counter 0), cure (1) and hepatotoxicity (2)",
    "screening/vzv": "VZV serostatus (counter 0), serology result (1), varicella vaccine protection (2)",
    "disease_activity/response": "who responds to treatment (disease controlled), same in every arm",
    "disease_activity/loss_of_response": "time to loss of response (Exp(1) by inversion)",
}

_FIELD = re.compile(r"\{(\w+)\}")


def stream_names(**values: Iterable[str]) -> list[str]:
    """Every stream name, the patterns expanded over the values given per placeholder.

    Parameters
    ----------
    **values
        Per placeholder (``type``, ``name``, ``parameter``) the values to expand; a pattern whose
        placeholder has no values is left out.

    Returns
    -------
    list of str
        Stream names, in the order of ``STREAMS``.
    """
    out: list[str] = []
    for pattern in STREAMS:
        field = _FIELD.search(pattern)
        if field is None:
            out.append(pattern)
        else:
            out += [pattern.replace(field.group(0), v) for v in values.get(field.group(1), ())]
    return out


def check_streams(names: Iterable[str]) -> None:
    """Raise ValueError when two streams share a name or a 32-bit stream id.

    Parameters
    ----------
    names : iterable of str
        Stream names (e.g. ``stream_names(type=..., name=..., parameter=...)``).

    Raises
    ------
    ValueError
        One line naming the first duplicate name, or the two names whose CRC-32 ids collide
        (``kernel.keys.stream_id``): they would draw the same random numbers.
    """
    seen: dict[int, str] = {}
    for name in names:
        sid = stream_id(name)
        other = seen.get(sid)
        if other == name:
            raise ValueError(f"random stream {name!r} is listed twice")
        if other is not None:
            raise ValueError(f"random streams {other!r} and {name!r} have the same stream id {sid}")
        seen[sid] = name


def is_registered(name: str) -> bool:
    """Whether ``name`` is a stream of ``STREAMS`` (a pattern's placeholder matches any word)."""
    for pattern in STREAMS:
        rx = "^" + _FIELD.sub(r"[\\w.\\-]+", re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        if re.match(rx, name):
            return True
    return False
