"""Provenance written as key-value metadata on every output file: what made these numbers.

Scenario text and resolved scenario, seed, PSA draw, each arm's resolved parameters with their
sources, and the versions of jaksim and of the libraries the numbers depend on.
"""

from __future__ import annotations

import json
import platform

import numba
import numpy as np
import pyarrow as pa

from jaksim import __version__


def dependency_versions() -> dict[str, str]:
    """Versions of Python and of every library whose behaviour the numbers depend on."""
    import pydantic
    import scipy
    import yaml
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "pyarrow": pa.__version__, "pydantic": pydantic.__version__,
            "pyyaml": yaml.__version__}


def file_metadata(model, arm, table: str, draw: int) -> dict[str, str]:
    """Key-value metadata of one Parquet file: ``table`` of ``arm`` (an ``ArmSpec``) in ``draw``.

    ``model`` is a ``jaksim.model.spec.Model``; the arm's ``provenance`` lists each resolved
    parameter with its source.
    """
    sc = model.scenario
    return {
        "jaksim.version": __version__,
        "jaksim.table": table,
        "jaksim.scenario_name": sc.name,
        "jaksim.arm": arm.name,
        "jaksim.seed": str(sc.seed),
        "jaksim.draw": str(draw),
        "jaksim.n_patients": str(sc.n_patients),
        "jaksim.horizon_years": repr(float(sc.horizon_years)),
        "jaksim.scenario_yaml": sc.text or "",
        "jaksim.resolved_scenario": sc.model_dump_json(),
        "jaksim.parameters": json.dumps(arm.provenance, sort_keys=True, default=float),
        "jaksim.dependencies": json.dumps(dependency_versions(), sort_keys=True),
        "jaksim.warnings": json.dumps(list(getattr(model, "warnings", ()))),
        "jaksim.economics": json.dumps(_economics_provenance(model, arm), sort_keys=True, default=float),
    }


def _economics_provenance(model, arm) -> dict:
    """Every cost, utility and discount rate the arm's economics use, with source and status ({}: none)."""
    econ = getattr(model, "economics", ())
    for a, e in zip(getattr(model, "arms", ()), econ, strict=False):
        if a.name == arm.name:
            return e.provenance
    return {}
