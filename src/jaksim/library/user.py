"""A user library next to a scenario (``library: my_values.yaml``): values added or overridden.

The file holds any of the sections of ``parameters.yaml`` (drugs, infection types, rates,
hazard ratios, consequences, discontinuation, off-treatment hazard ratios, time-on-treatment
profiles) and of ``evidence.yaml`` (trials, baselines, relative effects, dose-order
exceptions), with the
same schema and the same one-line ``file:line: key.path: problem`` errors. An entry replaces
the package's entry with the same look-up key (a drug by name, a rate by drug, dose,
indication and type, a baseline by indication and type, a relative effect or trial by id);
others are added. Every entry taken from the file records it in its provenance
(``library: <path>``). Vaccines, economics and life tables are not overridable here yet
(a full copy of the library folder in ``JAKSIM_LIBRARY`` overrides them).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from jaksim.errors import LibraryError
from jaksim.library import checks
from jaksim.library.entries import Library, hazard_ratio_key
from jaksim.library.evidence_schema import Baseline, DoseOrderException, RelativeEffect, Trial
from jaksim.library.schema import (
    Consequence,
    Discontinuation,
    Drug,
    HazardRatio,
    InfectionType,
    OffTreatmentHazardRatio,
    Rate,
    TimeOnTreatmentProfile,
    _Strict,
)


class UserLibraryFile(_Strict):
    """A user library: every section optional."""

    drugs: dict[str, Drug] = {}
    infection_types: dict[str, InfectionType] = {}
    rates: list[Rate] = []
    hazard_ratios: list[HazardRatio] = []
    consequences: list[Consequence] = []
    discontinuation: list[Discontinuation] = []
    off_treatment_hazard_ratio: list[OffTreatmentHazardRatio] = []
    time_on_treatment_profiles: list[TimeOnTreatmentProfile] = []
    trials: list[Trial] = []
    baselines: list[Baseline] = []
    relative_effects: list[RelativeEffect] = []
    dose_order_exceptions: list[DoseOrderException] = []


#: look-up key of an entry in each list section (an entry with the same key replaces the package's)
KEYS = {
    "rates": lambda r: (r["drug"], float(r["dose_mg"]), r.get("indication", "ra"), r["type"]),
    "hazard_ratios": hazard_ratio_key,
    "consequences": lambda c: (c["type"], c["quantity"]),
    "discontinuation": lambda d: d["drug"],
    "off_treatment_hazard_ratio": lambda o: o["type"],
    "time_on_treatment_profiles": lambda p: (p.get("drug"), p["type"], p["profile"]),
    "trials": lambda t: t["id"],
    "baselines": lambda b: (b["indication"], b["type"]),
    "relative_effects": lambda e: e["id"],
    "dose_order_exceptions": lambda x: (x["drug"], x["type"]),
}
PARAMETER_SECTIONS = ("rates", "hazard_ratios", "consequences", "discontinuation", "off_treatment_hazard_ratio",
                      "time_on_treatment_profiles")
EVIDENCE_SECTIONS = ("trials", "baselines", "relative_effects", "dose_order_exceptions")


def _merge(base: list[dict], extra: list[dict], key, file: str) -> list[dict]:
    mine = {key(e): {**e, "library": file} for e in extra}
    return [mine.pop(key(e), e) for e in base] + list(mine.values())


def scenario_library(scenario, base: Library | None = None) -> Library:
    """The library a scenario runs on: the package's (or ``base``), with its user library merged in."""
    from jaksim.library.loader import load_library
    base = base if base is not None else load_library()
    if scenario.library is None:
        return base
    p = Path(scenario.library)
    p = p if p.is_absolute() else scenario.base_dir / p
    if not p.is_file():
        raise scenario.error(("library",), f"user library file not found: '{p}'; give the path of a YAML file "
                                           "relative to the scenario file")
    return with_user_library(base, p)


def with_user_library(base: Library, path: str | Path) -> Library:
    """The package library with a user file's entries added or overriding (validated, located errors)."""
    return _with_user_library(base, Path(path).resolve(), Path(path).resolve().stat().st_mtime_ns)


@cache
def _with_user_library(base: Library, path: Path, _mtime: int) -> Library:
    from jaksim.library.loader import _parse
    file = str(path)
    data, lines = _parse(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LibraryError(f"must be a YAML mapping with keys {', '.join(UserLibraryFile.model_fields)} "
                           f"(got {type(data).__name__})", file=file)
    try:
        UserLibraryFile.model_validate(data)
    except ValidationError as exc:
        raise checks.schema_error(exc, UserLibraryFile, file, lines) from None
    params = copy.deepcopy(base.data)
    evidence = copy.deepcopy(base.evidence)
    params["drugs"] = {**params["drugs"], **data.get("drugs", {})}
    params["infection_types"] = {**params["infection_types"], **data.get("infection_types", {})}
    where = checks.Where(file, lines)
    checks.check_parameters({**{s: data.get(s, []) for s in PARAMETER_SECTIONS},
                             "drugs": params["drugs"], "infection_types": params["infection_types"]}, where)
    checks.check_evidence({**{s: data.get(s, []) for s in EVIDENCE_SECTIONS},
                           "reference_treatment": evidence["reference_treatment"]}, params, where,
                          known_trials={t["id"] for t in evidence.get("trials", [])})
    for s in PARAMETER_SECTIONS:
        params[s] = _merge(params.get(s, []), data.get(s, []), KEYS[s], file)
    for s in EVIDENCE_SECTIONS:
        evidence[s] = _merge(evidence.get(s, []), data.get(s, []), KEYS[s], file)
    lib = Library(params, base.root, base.vaccines, evidence)
    lib._pops = base._pops_all()
    lib.user_file = file
    return lib
