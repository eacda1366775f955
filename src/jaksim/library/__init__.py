"""The parameter library: published rates, hazard ratios and consequences with sources.

Data live in ``parameters.yaml`` and ``life_tables/*.csv`` beside this file (human-readable,
not code). Every value carries its citation and a ``status``: ``read`` (number read in the
source), ``computed`` (arithmetic on read numbers, shown in the note) or ``assumption``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from jaksim.errors import LibraryError

STATUSES = ("read", "computed", "assumption")


@dataclass(frozen=True)
class Sourced:
    """One library value with its provenance."""

    value: float
    citation: str
    doi: str | None
    status: str
    note: str = ""
    extra: tuple = ()

    def provenance(self) -> dict[str, Any]:
        return {"value": self.value, "citation": self.citation, "doi": self.doi,
                "status": self.status, "note": self.note}


@dataclass(frozen=True)
class LifeTable:
    """Annual death probabilities q_x by completed age and sex (last age is open-ended)."""

    name: str
    ages: np.ndarray
    male_qx: np.ndarray
    female_qx: np.ndarray
    source: Sourced

    def hazard_per_year(self, max_age: int = 120) -> np.ndarray:
        """Constant hazards ``-ln(1 - q_x)`` per year, shape (2, max_age + 1): [male, female].

        Ages below the table's first age take its first row; ages above its last take the
        last. An open last band given as q_x = 1 ("everybody dies eventually") is no annual
        probability: such a row takes the hazard of the row before it (assumption, stated
        in the provenance).
        """
        out = np.empty((2, max_age + 1))
        last = len(self.ages) - 1
        if last > 0 and (self.male_qx[last] >= 1.0 or self.female_qx[last] >= 1.0):
            last -= 1
        idx = np.clip(np.arange(max_age + 1) - int(self.ages[0]), 0, last)
        for row, qx in enumerate((self.male_qx, self.female_qx)):
            q = np.clip(qx[idx], 0.0, 1.0 - 1e-12)
            out[row] = -np.log1p(-q)
        return out


def _sourced(entry: dict, value_key: str) -> Sourced:
    return Sourced(value=float(entry[value_key]), citation=str(entry.get("citation", "")),
                   doi=entry.get("doi") or entry.get("doi_or_url"), status=str(entry.get("status", "")),
                   note=str(entry.get("note", "") or ""))


class Library:
    """Look-ups into the parameter data; raises LibraryError for what it does not hold."""

    def __init__(self, data: dict, root: Path, vaccines: dict | None = None):
        self.data, self.root = data, root
        if vaccines is None:
            with open(root / "vaccines.yaml", encoding="utf-8") as fh:
                vaccines = yaml.safe_load(fh) or {}
        #: zoster vaccine efficacy, waning and PHN by age (``vaccines.yaml``)
        self.vaccines: dict = vaccines
        self.drugs: dict[str, dict] = data.get("drugs", {})
        self.infection_types: dict[str, dict] = data.get("infection_types", {})
        self._rates = {(r["drug"], float(r["dose_mg"]), r.get("indication", "ra"), r["type"]): r
                       for r in data.get("rates", [])}
        self._hrs = {(h["type"], h["covariate"]): h for h in data.get("hazard_ratios", [])}
        self._cons = {(c["type"], c["quantity"]): c for c in data.get("consequences", [])}
        self._disc = {d["drug"]: d for d in data.get("discontinuation", [])}
        self._off = {o["type"]: o for o in data.get("off_treatment_hazard_ratio", [])}

    # -- entries ---------------------------------------------------------------
    def doses(self, drug: str) -> list[float]:
        if drug not in self.drugs:
            raise LibraryError(f"unknown drug '{drug}'; allowed: {', '.join(sorted(self.drugs))}")
        return [float(d) for d in self.drugs[drug]["doses_mg"]]

    def rate(self, drug: str, dose_mg: float, indication: str, infection_type: str) -> Sourced | None:
        """Published rate (per 100 PY) for a drug, dose, indication and type, or None."""
        r = self._rates.get((drug, float(dose_mg), indication, infection_type))
        if r is None:
            return None
        s = _sourced(r, "rate_per_100py")
        return Sourced(s.value, s.citation, s.doi, s.status, s.note,
                       (("measure", r.get("measure")), ("population", r.get("population"))))

    def hazard_ratio(self, infection_type: str, covariate: str) -> Sourced | None:
        h = self._hrs.get((infection_type, covariate))
        if h is None:
            return None
        s = _sourced(h, "hazard_ratio")
        if "reference_age" in h:
            return Sourced(s.value, s.citation, s.doi, s.status, s.note,
                           (("reference_age", float(h["reference_age"])),))
        return s

    def consequence(self, infection_type: str, quantity: str) -> Sourced | None:
        c = self._cons.get((infection_type, quantity))
        return _sourced(c, "probability") if c else None

    def discontinuation(self, drug: str) -> Sourced | None:
        d = self._disc.get(drug)
        return _sourced(d, "rate_per_100py") if d else None

    def off_treatment_hazard_ratio(self, infection_type: str) -> Sourced | None:
        o = self._off.get(infection_type)
        return _sourced(o, "hazard_ratio") if o else None

    def tuberculosis_setting_ratio(self, setting: str) -> Sourced | None:
        """TB rate in a setting of low/medium/high background TB incidence, relative to the
        programme average the library's TB rates describe (value = the ratio)."""
        section = self.data.get("tuberculosis_background_incidence")
        if not section or setting not in section.get("settings", {}):
            return None
        e = section["settings"][setting]
        ratio = float(e["rate_per_100py"]) / float(section["programme"]["rate_per_100py"])
        return Sourced(ratio, str(e.get("citation", "")), e.get("doi"), "computed",
                       f"{e['rate_per_100py']} / {section['programme']['rate_per_100py']} per 100 PY. "
                       + str(e.get("note", "")))

    def excess_mortality_ratio(self) -> Sourced | None:
        e = self.data.get("mortality", {}).get("excess_mortality_ratio")
        return _sourced(e, "value") if e else None

    def source_population(self, drug: str, dose_mg: float, infection_type: str, indication: str = "ra"):
        """The described population a library rate was measured in (for calibration), or None."""
        return self._pops_all().get((drug, float(dose_mg), infection_type, indication))

    def _pops_all(self) -> dict:
        if not hasattr(self, "_pops"):
            from jaksim.model.calibration import source_populations
            self._pops = source_populations(self.root)
        return self._pops

    def life_table_names(self) -> list[str]:
        return sorted(self.data.get("mortality", {}).get("life_tables", {}))

    def life_table(self, name: str) -> LifeTable:
        tables = self.data.get("mortality", {}).get("life_tables", {})
        if name not in tables:
            raise LibraryError(f"unknown life table '{name}'; allowed: {', '.join(sorted(tables)) or 'none'} "
                               "or a path to a CSV file with columns age,male_qx,female_qx")
        meta = tables[name]
        src = Sourced(value=float("nan"), citation=str(meta.get("citation", "")),
                      doi=meta.get("doi_or_url"), status=str(meta.get("status", "")),
                      note=str(meta.get("description", "")))
        return read_life_table(self.root / meta["file"], name, src)

    def default_life_table(self) -> str | None:
        names = self.life_table_names()
        default = self.data.get("mortality", {}).get("default_life_table")
        return default or (names[0] if names else None)

    def entries(self) -> list[dict]:
        """Every sourced entry as a flat dict (for listing and the no-unsourced-value test)."""
        out = []
        for section in ("rates", "hazard_ratios", "consequences", "discontinuation",
                        "off_treatment_hazard_ratio"):
            for e in self.data.get(section, []):
                out.append({"section": section, **e})
        for e in self.data.get("time_on_treatment_profiles", []):
            out.append({"section": "time_on_treatment_profiles", **e})
        tb = self.data.get("tuberculosis_background_incidence", {})
        for name, e in ({"programme": tb["programme"], **tb.get("settings", {})} if tb else {}).items():
            out.append({"section": "tuberculosis_background_incidence", "name": name, **e})
        mort = self.data.get("mortality", {})
        if "excess_mortality_ratio" in mort:
            out.append({"section": "mortality", **mort["excess_mortality_ratio"]})
        for name, t in mort.get("life_tables", {}).items():
            out.append({"section": "life_tables", "name": name, **t})
        return out


def read_life_table(path: Path, name: str, source: Sourced) -> LifeTable:
    """Read a CSV with columns ``age,male_qx,female_qx`` (one row per integer age)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(line for line in fh if not line.startswith("#"))]
    except OSError as exc:
        raise LibraryError(f"cannot read life table '{path}': {exc.strerror}") from None
    need = {"age", "male_qx", "female_qx"}
    if not rows or not need <= set(rows[0]):
        raise LibraryError(f"life table '{path}' must have columns age,male_qx,female_qx "
                           f"(found: {', '.join(rows[0]) if rows else 'no rows'})")
    try:
        ages = np.array([int(float(r["age"])) for r in rows])
        male = np.array([float(r["male_qx"]) for r in rows])
        female = np.array([float(r["female_qx"]) for r in rows])
    except ValueError as exc:
        raise LibraryError(f"life table '{path}': non-numeric value ({exc})") from None
    if np.any(np.diff(ages) != 1):
        raise LibraryError(f"life table '{path}': ages must be consecutive integers")
    for qx in (male, female):
        if np.any((qx < 0) | (qx > 1)) or not np.all(np.isfinite(qx)):
            raise LibraryError(f"life table '{path}': q_x must lie in [0, 1]")
    return LifeTable(name, ages, male, female, source)


@lru_cache(maxsize=1)
def load_library() -> Library:
    """The package's parameter library (read once; immutable use only)."""
    root = Path(str(resources.files("jaksim") / "library"))
    with open(root / "parameters.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return Library(data, root)
