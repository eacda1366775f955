"""Checks of library files beyond their schema, and schema errors as one located line.

The schema (``schema.py``) checks each entry alone; here entries are checked against each
other: a rate's drug, dose, indication and infection type exist, a hazard ratio names a known
covariate, no look-up key is given twice (the later entry would silently win), a life table
file exists, source populations and economics name drugs and types of ``parameters.yaml``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from jaksim.codes import PHN
from jaksim.errors import LibraryError
from jaksim.library.entries import hazard_ratio_key
from jaksim.scenario.load import _model_at, _user_loc, describe_error
from jaksim.scenario.schema import BINARY_COVARIATES, GLUCOCORTICOID_BANDS, INDICATIONS, REGIONS
from jaksim.scenario.yamlfile import Lines

#: covariates a hazard ratio may name: the binary ones, age, the glucocorticoid bands after
#: 'none' and the named regions (relative to the pooled Asian or non-Asian patients)
COVARIATES = ("age_per_10_years", *(f"glucocorticoid_{b}" for b in GLUCOCORTICOID_BANDS[1:]),
              *BINARY_COVARIATES, *(f"region_{r}" for r in REGIONS[1:]))


@dataclass(frozen=True)
class Where:
    """A library file and the line of each of its key paths."""

    file: str
    lines: Lines

    def line(self, path: tuple) -> int | None:
        """Line of a key path, or of its nearest parent written in the file."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def error(self, path: tuple, message: str) -> LibraryError:
        """A LibraryError at a key path: ``file:line: key.path: message``."""
        return LibraryError(message, file=self.file, line=self.line(path),
                            path=".".join(map(str, path)) or None)


def schema_error(exc: ValidationError, model: type[BaseModel], file: str, lines: Lines) -> LibraryError:
    """The first problem pydantic found, as a located LibraryError.

    A typo'd key shows up twice (an unknown key and a missing one); the unknown key is
    reported, with the closest allowed key as a suggestion.
    """
    errors = exc.errors()
    err = errors[0]
    if err["type"] == "missing":
        parent = tuple(err["loc"])[:-1]
        extra = [e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"])[:-1] == parent]
        err = extra[0] if extra else err
    raw_loc = tuple(err["loc"])
    message = describe_error(dict(err), model, raw_loc)
    if err["type"] == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors
                   if e["type"] == "missing" and tuple(e["loc"])[:-1] == raw_loc[:-1]]
        here = _model_at(model, raw_loc)
        close = (difflib.get_close_matches(str(raw_loc[-1]), missing, n=1)
                 or difflib.get_close_matches(str(raw_loc[-1]), list(here.model_fields) if here else [], n=1))
        message += f" (did you mean '{close[0]}'?)" if close else ""
    return Where(file, lines).error(_user_loc(raw_loc), message)


def _unique(where: Where, section: str, entries: list[dict], key) -> None:
    """No two entries of a section with the same look-up key."""
    seen: dict[Any, int] = {}
    for i, e in enumerate(entries):
        k = key(e)
        if k in seen:
            raise where.error((section, i), f"duplicate entry {k} (first given on line "
                                            f"{where.line((section, seen[k]))}); give each once")
        seen[k] = i


def _known(where: Where, path: tuple, value: Any, allowed: Iterable, what: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise where.error(path, f"unknown {what} (got {value!r}); allowed: {', '.join(map(str, allowed))}")


def _drug_dose(where: Where, path: tuple, entry: dict, drugs: dict) -> None:
    _known(where, path + ("drug",), entry["drug"], drugs, "drug")
    doses = [float(d) for d in drugs[entry["drug"]]["doses_mg"]]
    if float(entry["dose_mg"]) not in doses:
        raise where.error(path + ("dose_mg",), f"not a dose of {entry['drug']} in drugs (got {entry['dose_mg']:g}); "
                                               f"allowed: {', '.join(f'{d:g}' for d in doses)}")


def check_parameters(data: dict, where: Where) -> None:
    """References inside ``parameters.yaml`` (after its schema)."""
    drugs, types = data["drugs"], data["infection_types"]
    for i, r in enumerate(data.get("rates", [])):
        _drug_dose(where, ("rates", i), r, drugs)
        _known(where, ("rates", i, "type"), r["type"], types, "infection type")
        _known(where, ("rates", i, "indication"), r.get("indication", "ra"), INDICATIONS, "indication")
    for section in ("hazard_ratios", "consequences", "off_treatment_hazard_ratio", "time_on_treatment_profiles"):
        for i, e in enumerate(data.get(section, [])):
            _known(where, (section, i, "type"), e["type"], types, "infection type")
    for i, h in enumerate(data.get("hazard_ratios", [])):
        _known(where, ("hazard_ratios", i, "covariate"), h["covariate"], COVARIATES, "covariate")
        if h.get("dose_mg") is not None and h.get("drug") is None:
            raise where.error(("hazard_ratios", i, "dose_mg"), "a dose-specific hazard ratio needs its drug; add drug")
        if h.get("dose_mg") is not None:
            _drug_dose(where, ("hazard_ratios", i), h, drugs)
        elif h.get("drug") is not None:
            _known(where, ("hazard_ratios", i, "drug"), h["drug"], drugs, "drug")
    for i, d in enumerate(data.get("discontinuation", [])):
        _known(where, ("discontinuation", i, "drug"), d["drug"], drugs, "drug")
    for i, p in enumerate(data.get("time_on_treatment_profiles", [])):
        if p.get("drug") is not None:
            _known(where, ("time_on_treatment_profiles", i, "drug"), p["drug"], drugs, "drug")
        if p.get("indication") is not None:
            _known(where, ("time_on_treatment_profiles", i, "indication"), p["indication"], INDICATIONS, "indication")
    _unique(where, "time_on_treatment_profiles", data.get("time_on_treatment_profiles", []),
            lambda p: (p.get("drug"), p["type"], p["profile"]))
    _unique(where, "rates", data.get("rates", []),
            lambda r: (r["drug"], float(r["dose_mg"]), r.get("indication", "ra"), r["type"]))
    _unique(where, "hazard_ratios", data.get("hazard_ratios", []), hazard_ratio_key)
    _unique(where, "consequences", data.get("consequences", []), lambda c: (c["type"], c["quantity"]))
    _unique(where, "discontinuation", data.get("discontinuation", []), lambda d: d["drug"])
    _unique(where, "off_treatment_hazard_ratio", data.get("off_treatment_hazard_ratio", []), lambda o: o["type"])
    mort = data.get("mortality") or {}
    tables = mort.get("life_tables", {})
    if mort.get("default_life_table") is not None:
        _known(where, ("mortality", "default_life_table"), mort["default_life_table"], tables, "life table")
    for name, t in tables.items():
        if not (Path(where.file).parent / t["file"]).is_file():
            raise where.error(("mortality", "life_tables", name, "file"),
                              f"no such file in the library folder (got {t['file']!r})")


def check_source_populations(data: dict, parameters: dict, where: Where) -> None:
    """Each ``applies_to`` names a drug, dose, type and indication of ``parameters.yaml``, once."""
    seen: dict[tuple, tuple] = {}
    for i, p in enumerate(data.get("source_populations", [])):
        for j, a in enumerate(p.get("applies_to", [])):
            path = ("source_populations", i, "applies_to", j)
            _drug_dose(where, path, a, parameters["drugs"])
            _known(where, path + ("type",), a["type"], parameters["infection_types"], "infection type")
            _known(where, path + ("indication",), a.get("indication", "ra"), INDICATIONS, "indication")
            key = (a["drug"], float(a["dose_mg"]), a["type"], a.get("indication", "ra"))
            if key in seen:
                raise where.error(path, f"rate {key} already backed by the population on line "
                                        f"{where.line(seen[key])}; give each rate one population")
            seen[key] = path


def check_economics(data: dict, parameters: dict, where: Where) -> None:
    """Presets name a currency; costs and decrements name infection types; PHN has a decrement."""
    types = list(parameters["infection_types"])
    for name, preset in data["discount_presets"].items():
        _known(where, ("discount_presets", name, "currency"), preset["currency"], data["currencies"], "currency")
    for cur, c in data["currencies"].items():
        for t in c.get("event_costs", {}):
            _known(where, ("currencies", cur, "event_costs", t), t, types, "infection type")
    for t in data["utility"]["decrements"]:
        _known(where, ("utility", "decrements", t), t, [*types, PHN], "infection type")
    for t in (data.get("disease_activity") or {}).get("infection_hazard_ratio_uncontrolled") or {}:
        _known(where, ("disease_activity", "infection_hazard_ratio_uncontrolled", t), t, types, "infection type")
    if PHN not in data["utility"]["decrements"]:
        raise where.error(("utility", "decrements"), f"missing required key '{PHN}' (its decrement and duration)")


def _treatment(where: Where, path: tuple, t: dict, drugs: dict, classes: set[str]) -> None:
    """A treatment names a drug of ``drugs`` (and one of its doses) or a known drug class."""
    if t.get("drug_class") is not None:
        _known(where, path + ("drug_class",), t["drug_class"], sorted(classes), "drug class")
        return
    _known(where, path + ("drug",), t["drug"], drugs, "drug")
    if t.get("dose_mg") is not None:
        _drug_dose(where, path, t, drugs)


def check_evidence(data: dict, parameters: dict, where: Where, known_trials: set[str] | None = None) -> None:
    """Baselines and relative effects name drugs, doses, classes, types, indications and trials
    that exist (``known_trials``: more trial ids, e.g. the package's for a user library); ids
    are unique; one baseline per indication and type."""
    drugs, types = parameters["drugs"], parameters["infection_types"]
    classes = {d["drug_class"] for d in drugs.values()} | {data["reference_treatment"].get("drug_class") or ""}
    classes.discard("")
    _treatment(where, ("reference_treatment",), data["reference_treatment"], drugs, classes)
    for i, c in enumerate(data.get("class_effects", [])):
        _known(where, ("class_effects", i), c, sorted(classes), "drug class")
    trials = {t["id"] for t in data.get("trials", [])} | (known_trials or set())
    for i, t in enumerate(data.get("trials", [])):
        _known(where, ("trials", i, "indication"), t["indication"], INDICATIONS, "indication")
    for i, b in enumerate(data.get("baselines", [])):
        _known(where, ("baselines", i, "indication"), b["indication"], INDICATIONS, "indication")
        _known(where, ("baselines", i, "type"), b["type"], types, "infection type")
        _treatment(where, ("baselines", i, "treatment"), b["treatment"], drugs, classes)
    for i, e in enumerate(data.get("relative_effects", [])):
        path = ("relative_effects", i)
        if e.get("indication") is not None:
            _known(where, path + ("indication",), e["indication"], INDICATIONS, "indication")
        if e.get("type") is not None:
            _known(where, path + ("type",), e["type"], types, "infection type")
        _treatment(where, path + ("treatment",), e["treatment"], drugs, classes)
        _treatment(where, path + ("comparator",), e["comparator"], drugs, classes)
        if e.get("trial") is not None:
            _known(where, path + ("trial",), e["trial"], sorted(trials), "trial id")
    for i, x in enumerate(data.get("dose_order_exceptions", [])):
        _known(where, ("dose_order_exceptions", i, "drug"), x["drug"], drugs, "drug")
        _known(where, ("dose_order_exceptions", i, "type"), x["type"], types, "infection type")
    for section in ("trials", "baselines", "relative_effects"):
        _unique(where, section, data.get(section, []), lambda e: e["id"])
    _unique(where, "baselines", data.get("baselines", []), lambda b: (b["indication"], b["type"]))
