"""Look-ups into the validated parameter library: sourced values, life tables, the Library.

The data are the parsed YAML files, already checked against ``schema.py`` by ``loader.py``;
the look-ups here turn entries into :class:`Sourced` values (number plus provenance) and
return ``None`` for what the library does not hold, so that the caller can fall back to an
assumption and say so (``resolve.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaksim.errors import LibraryError

#: the keys of a parameter's provenance record, in the order they are listed
PROVENANCE_KEYS: tuple[str, ...] = ("value", "citation", "doi", "status", "note")


@dataclass(frozen=True)
class Sourced:
    """One library value with its provenance.

    ``shown`` lists the attributes that :meth:`provenance` reports (the economics library
    has no DOI field, and its records leave it out).
    """

    value: float
    citation: str
    doi: str | None
    status: str
    note: str = ""
    extra: tuple = ()
    shown: tuple[str, ...] = PROVENANCE_KEYS

    library: str = ""          # a user library file the value came from ("": the package's)

    def provenance(self) -> dict[str, Any]:
        """The value and its source as a provenance record (``shown`` keys; the user library file)."""
        rec = {k: getattr(self, k) for k in self.shown}
        return {**rec, "library": self.library} if self.library else rec


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


def sourced(entry: dict, value_key: str) -> Sourced:
    """A ``parameters.yaml`` entry as a Sourced value (its number under ``value_key``)."""
    return Sourced(value=float(entry[value_key]), citation=str(entry.get("citation", "")),
                   doi=entry.get("doi") or entry.get("doi_or_url"), status=str(entry.get("status", "")),
                   note=str(entry.get("note", "") or ""), library=str(entry.get("library", "")))


def section_entries(data: dict, section: str) -> list[tuple[str, dict]]:
    """Every sourced value (a mapping with ``value`` and ``status``) of a nested section of
    ``parameters.yaml`` (``latent_tuberculosis``, ``varicella_zoster_serostatus``), with its
    dotted key path, in file order."""
    out: list[tuple[str, dict]] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict) and "status" in node and "value" in node:
            out.append((path, node))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
    walk(data.get(section) or {}, "")
    return out


def hazard_ratio_key(h: dict) -> tuple:
    """(type, covariate, drug or None, dose_mg or None) of a hazard-ratio entry: one entry per key."""
    dose = h.get("dose_mg")
    return (h["type"], h["covariate"], h.get("drug"), None if dose is None else float(dose))


class Library:
    """Look-ups into the parameter data; raises LibraryError for what it does not hold.

    ``data`` is ``parameters.yaml`` and ``vaccines`` ``vaccines.yaml`` as parsed (a PSA draw
    passes copies with drawn values); ``root`` is the folder they come from.
    """

    def __init__(self, data: dict, root: Path, vaccines: dict | None = None, evidence: dict | None = None):
        self.data, self.root = data, root
        if vaccines is None:
            from jaksim.library.loader import load_vaccines
            vaccines = load_vaccines(root)
        if evidence is None:
            from jaksim.library.loader import load_evidence
            evidence = load_evidence(root)
        #: baselines on the reference treatment, trials and relative effects (``evidence.yaml``)
        self.evidence: dict = evidence
        #: the user library file merged in (``library/user.py``), None for the package's own
        self.user_file: str | None = None
        #: zoster vaccine efficacy, waning and PHN by age (``vaccines.yaml``)
        self.vaccines: dict = vaccines
        self.drugs: dict[str, dict] = data.get("drugs", {})
        self.infection_types: dict[str, dict] = data.get("infection_types", {})
        self._rates = {(r["drug"], float(r["dose_mg"]), r.get("indication", "ra"), r["type"]): r
                       for r in data.get("rates", [])}
        self._hrs = {hazard_ratio_key(h): h for h in data.get("hazard_ratios", [])}
        self._cons = {(c["type"], c["quantity"]): c for c in data.get("consequences", [])}
        self._disc = {d["drug"]: d for d in data.get("discontinuation", [])}
        self._off = {o["type"]: o for o in data.get("off_treatment_hazard_ratio", [])}
        self._frailty = {f["type"]: f for f in data.get("frailty", [])}
        self._pops: dict | None = None

    # -- entries ---------------------------------------------------------------
    def doses(self, drug: str) -> list[float]:
        """Doses (mg per administration) the library has for a drug."""
        if drug not in self.drugs:
            raise LibraryError(f"unknown drug '{drug}'; allowed: {', '.join(sorted(self.drugs))}")
        return [float(d) for d in self.drugs[drug]["doses_mg"]]

    def rate(self, drug: str, dose_mg: float, indication: str, infection_type: str) -> Sourced | None:
        """Published rate (per 100 PY) for a drug, dose, indication and type, or None."""
        r = self._rates.get((drug, float(dose_mg), indication, infection_type))
        if r is None:
            return None
        s = sourced(r, "rate_per_100py")
        return Sourced(s.value, s.citation, s.doi, s.status, s.note,
                       (("measure", r.get("measure")), ("population", r.get("population"))), library=s.library)

    def programme_keys(self) -> list[tuple]:
        """(drug, dose_mg, indication, type) of every programme rate (``evidence: programme_rates``)."""
        return list(self._rates)

    def hazard_ratio(self, infection_type: str, covariate: str, drug: str | None = None,
                     dose_mg: float | None = None) -> Sourced | None:
        """Hazard ratio of a covariate for a type (``extra``: its reference age, if any), or None:
        the entry for the drug and dose, else for the drug, else the one without a drug."""
        h = None
        if drug is not None:
            h = (self._hrs.get((infection_type, covariate, drug, None if dose_mg is None else float(dose_mg)))
                 or self._hrs.get((infection_type, covariate, drug, None)))
        h = h or self._hrs.get((infection_type, covariate, None, None))
        if h is None:
            return None
        s = sourced(h, "hazard_ratio")
        if "reference_age" in h:
            return Sourced(s.value, s.citation, s.doi, s.status, s.note,
                           (("reference_age", float(h["reference_age"])),), library=s.library)
        return s

    def consequence(self, infection_type: str, quantity: str) -> Sourced | None:
        """Probability of a consequence of an event (case fatality, hospitalisation, ...), or None."""
        c = self._cons.get((infection_type, quantity))
        return sourced(c, "probability") if c else None

    def discontinuation(self, drug: str) -> Sourced | None:
        """All-cause discontinuation rate of a drug (per 100 PY), or None."""
        d = self._disc.get(drug)
        return sourced(d, "rate_per_100py") if d else None

    def off_treatment_hazard_ratio(self, infection_type: str) -> Sourced | None:
        """Hazard ratio after stopping treatment, or None."""
        o = self._off.get(infection_type)
        return sourced(o, "hazard_ratio") if o else None

    def time_on_treatment_profile(self, drug: str, infection_type: str) -> dict | None:
        """The piecewise time-on-treatment profile of a drug and type (the entry as written), or None."""
        for e in self.data.get("time_on_treatment_profiles", []):
            if e["profile"] == "piecewise" and e.get("drug") == drug and e["type"] == infection_type:
                return e
        return None

    def rate_window_years(self, drug: str, dose_mg: float, indication: str, infection_type: str) -> float | None:
        """The short fixed window a programme rate averages (``window_years``), or None (long-term)."""
        r = self._rates.get((drug, float(dose_mg), indication, infection_type))
        return None if r is None or r.get("window_years") is None else float(r["window_years"])
    def frailty_variance(self, infection_type: str) -> Sourced | None:
        """Variance of the type's gamma frailty (mean 1), or None."""
        f = self._frailty.get(infection_type)
        return sourced(f, "variance") if f else None

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
        """Mortality of the patients relative to the general population's life table, or None."""
        e = (self.data.get("mortality") or {}).get("excess_mortality_ratio")
        return sourced(e, "value") if e else None

    def source_population(self, drug: str, dose_mg: float, infection_type: str, indication: str = "ra"):
        """The described population a library rate was measured in (for calibration), or None."""
        return self._pops_all().get((drug, float(dose_mg), infection_type, indication))

    def source_populations(self) -> dict:
        """Every described source population, keyed by (drug, dose_mg, type, indication)."""
        return self._pops_all()

    def _pops_all(self) -> dict:
        if self._pops is None:
            from jaksim.library.loader import load_source_populations
            from jaksim.model.calibration import source_populations
            self._pops = source_populations(load_source_populations(self.root))
        return self._pops

    def life_table_names(self) -> list[str]:
        """Names of the library's life tables, sorted."""
        return sorted((self.data.get("mortality") or {}).get("life_tables", {}))

    def life_table(self, name: str) -> LifeTable:
        """A library life table by name (the CSV file named in ``mortality.life_tables``)."""
        from jaksim.library.loader import read_life_table
        tables = (self.data.get("mortality") or {}).get("life_tables", {})
        if name not in tables:
            raise LibraryError(f"unknown life table '{name}'; allowed: {', '.join(sorted(tables)) or 'none'} "
                               "or a path to a CSV file with columns age,male_qx,female_qx")
        meta = tables[name]
        src = Sourced(value=float("nan"), citation=str(meta.get("citation", "")),
                      doi=meta.get("doi_or_url"), status=str(meta.get("status", "")),
                      note=str(meta.get("description", "")))
        return read_life_table(self.root / meta["file"], name, src)

    def default_life_table(self) -> str | None:
        """The life table a scenario gets when it names none (the first by name if unset)."""
        names = self.life_table_names()
        default = (self.data.get("mortality") or {}).get("default_life_table")
        return default or (names[0] if names else None)

    def entries(self) -> list[dict]:
        """Every sourced entry as a flat dict (for listing and the no-unsourced-value test)."""
        out = []
        for section in ("rates", "hazard_ratios", "consequences", "discontinuation",
                        "off_treatment_hazard_ratio", "time_on_treatment_profiles", "frailty"):
            for e in self.data.get(section, []):
                out.append({"section": section, **e})
        tb = self.data.get("tuberculosis_background_incidence", {})
        for name, e in ({"programme": tb["programme"], **tb.get("settings", {})} if tb else {}).items():
            out.append({"section": "tuberculosis_background_incidence", "name": name, **e})
        mort = self.data.get("mortality") or {}
        if "excess_mortality_ratio" in mort:
            out.append({"section": "mortality", **mort["excess_mortality_ratio"]})
        for name, t in mort.get("life_tables", {}).items():
            out.append({"section": "life_tables", "name": name, **t})
        return out
