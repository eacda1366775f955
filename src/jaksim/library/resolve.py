"""Scenario value, else library value, else an assumption, with the provenance of the one taken.

Every parameter of the model is resolved the same way: a value written in the scenario
file wins; otherwise the library's sourced value is used; where the library has none, a
neutral value is assumed and the provenance record says so. The records are what the
outputs carry as ``jaksim.parameters`` metadata:

* scenario:   ``{"value": v, "source": "scenario file"}``
* library:    ``{"source": "library", **Sourced.provenance()}`` (value, citation, DOI, status, note)
* assumption: ``{"source": "assumption", "status": "assumption", "note": why}`` (plus the
  value when ``show_assumed`` is set, as the economics records do)
"""

from __future__ import annotations

from typing import Any

from jaksim.library.entries import Sourced

#: provenance ``source`` of a value given in the scenario file
SCENARIO = "scenario file"


def library_record(s: Sourced, *, with_extra: bool = False) -> dict[str, Any]:
    """Provenance record of a library value (``with_extra``: its extra fields, e.g. a rate's measure)."""
    record = {"source": "library", **s.provenance()}
    return {**record, **dict(s.extra)} if with_extra else record


def assumption_record(why: str) -> dict[str, Any]:
    """Provenance record of a value that neither the scenario nor the library gives."""
    return {"source": "assumption", "status": "assumption", "note": why}


def record(s: Sourced | None, why: str) -> dict[str, Any]:
    """Library record of ``s``, or the assumption record when the library has no value."""
    return assumption_record(why) if s is None else library_record(s)


def resolve(given: float | None, library: Sourced | None, *, assumed: float, why: str,
            source: str = SCENARIO, show_assumed: bool = False) -> tuple[float, dict[str, Any]]:
    """One parameter: the scenario's value, else the library's, else ``assumed``.

    Parameters
    ----------
    given : float or None
        The value written in the scenario file (None: not given).
    library : Sourced or None
        The library's value with its source (None: the library has none).
    assumed : float
        The neutral value used when neither gives one (e.g. 1 for a hazard ratio, 0 for a
        probability or a cost), in the parameter's own units.
    why : str
        What the assumption means, for the provenance record ("no age effect assumed").
    source : str
        The provenance ``source`` of a scenario value (default ``"scenario file"``).
    show_assumed : bool
        Put the assumed value into the assumption record.

    Returns
    -------
    value : float
        The value taken.
    provenance : dict
        Its provenance record (see the module docstring).
    """
    if given is not None:
        return float(given), {"value": given, "source": source}
    if library is not None:
        return float(library.value), library_record(library)
    prov = assumption_record(why)
    return float(assumed), ({"value": assumed, **prov} if show_assumed else prov)
