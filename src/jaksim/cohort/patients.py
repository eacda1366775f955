"""Cohorts: one row per patient as a struct of numpy arrays.

Patients are synthesised from the scenario's distributions, or resampled with replacement
from a user's table. Every draw comes from the counter-based generator keyed by patient id,
so patient i has the same characteristics whatever the chunk size and in every arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaksim.errors import CohortFileError
from jaksim.kernel.keys import stream_key
from jaksim.scenario.schema import (
    ASIAN_REGIONS,
    BINARY_COVARIATES,
    GLUCOCORTICOID_BANDS,
    INDICATIONS,
    LEGACY_GLUCOCORTICOID_BANDS,
    REGIONS,
    FileCohort,
    Scenario,
    SyntheticCohort,
    band_index,
)


@dataclass(frozen=True)
class Cohort:
    """Baseline characteristics of a block of patients (arrays of equal length)."""

    patient_id: np.ndarray   # int64
    age: np.ndarray          # float64, years at treatment start
    covariates: np.ndarray   # uint8 (n, len(BINARY_COVARIATES)): female, asia, prior_zoster, diabetes,
    #                          zoster_vaccinated, chronic_lung_disease, concomitant_csdmard
    gc_band: np.ndarray      # int8: 0 none, 1 <= 5, 2 > 5-10, 3 > 10 mg/day prednisone-equivalent
    indication: np.ndarray   # int8 index into INDICATIONS
    region: np.ndarray       # int8 index into REGIONS (0 unspecified)

    def __len__(self) -> int:
        return self.patient_id.shape[0]

    def column(self, name: str) -> np.ndarray:
        return self.covariates[:, BINARY_COVARIATES.index(name)]


@dataclass(frozen=True)
class PatientTable:
    """A user's table of patient characteristics, validated, as arrays."""

    path: str
    age: np.ndarray
    covariates: np.ndarray
    gc_band: np.ndarray
    indication: np.ndarray
    region: np.ndarray
    defaulted: tuple[str, ...]   # optional columns absent from the file (set to 0 / 'none' / 'ra')


def _u(seed: int, name: str, ids: np.ndarray, index: int = 0) -> np.ndarray:
    from jaksim.kernel.rng import uniforms  # numba: imported when patients are drawn
    return uniforms(stream_key(seed, f"cohort/{name}"), ids, index)


class Synthesiser:
    """A synthetic cohort specification as arrays, built once; called per block of patient ids."""

    def __init__(self, spec: SyntheticCohort, seed: int):
        names = ["age", "age_band", "glucocorticoid", "indication", "region"] + list(BINARY_COVARIATES)
        self.keys = np.array([stream_key(seed, f"cohort/{name}") for name in names], dtype=np.uint64)
        a = spec.age
        self.age = a
        self.cov_prob = np.array([getattr(spec, c) for c in BINARY_COVARIATES], dtype=np.float64)
        regions = spec.region or {}
        if regions:      # the region draws, and sets, the asia column
            self.cov_prob[BINARY_COVARIATES.index("asia")] = 0.0
        self.region_codes = np.array([REGIONS.index(r) for r in regions], dtype=np.int8)
        self.region_cum = np.cumsum([regions[r] for r in regions]).astype(np.float64)
        self.region_asian = np.array([r in ASIAN_REGIONS for r in REGIONS], dtype=np.uint8)
        use = [True, a.distribution != "truncated_normal", True, not isinstance(spec.indication, str), bool(regions)]
        self.cop_rows, self.cop_kind, self.cop_chol = _copula_arrays(spec, names)
        self.use = np.array(use + [p > 0 for p in self.cov_prob], dtype=np.bool_)
        self.use[self.cop_rows] = True       # a copula needs every one of its streams
        self.band_cum = self.band_lo = self.band_hi = np.zeros(1)
        if a.distribution == "truncated_normal":
            from scipy import special  # imported when needed (slow to import)
            p_lo = special.ndtr((a.min_years - a.mean_years) / a.sd_years)
            p_hi = special.ndtr((a.max_years - a.mean_years) / a.sd_years)
            self.age_offset, self.age_scale = float(p_lo), float(p_hi - p_lo)
            self.age_par = np.array([a.mean_years, a.sd_years, a.min_years, a.max_years], dtype=np.float64)
        else:
            self.age_offset, self.age_scale = 0.0, 1.0
            self.age_par = np.zeros(4)
            self.band_cum = np.cumsum([b.share for b in a.bands]).astype(np.float64)
            self.band_lo = np.array([b.min_years for b in a.bands], dtype=np.float64)
            self.band_hi = np.array([b.max_years for b in a.bands], dtype=np.float64)
        g = spec.glucocorticoid
        rows = sorted(g.by_age, key=lambda r: r.from_age_years)
        self.gc_from_age = np.array([0.0] + [r.from_age_years for r in rows], dtype=np.float64)
        # (rows, B - 1): cumulative shares of the bands after 'none', one row per from-age
        self.gc_cum = np.cumsum([g.band_shares()] + [r.band_shares() for r in rows], axis=1).astype(np.float64)
        if isinstance(spec.indication, str):
            self.ind_codes = np.array([INDICATIONS.index(spec.indication)], dtype=np.int8)
            self.ind_cum = np.ones(1)
        else:
            names_ind = list(spec.indication)
            self.ind_codes = np.array([INDICATIONS.index(k) for k in names_ind], dtype=np.int8)
            self.ind_cum = np.cumsum([spec.indication[k] for k in names_ind]).astype(np.float64)

    def __call__(self, ids: np.ndarray) -> Cohort:
        from numba import get_num_threads

        from jaksim.cohort.synthesis import synthesise  # numba: imported when patients are drawn
        age, cov, gc, ind, region = synthesise(
            self.keys, self.use, ids, self.age_offset, self.age_scale,
            0 if self.age.distribution == "truncated_normal" else 1, self.age_par, self.band_cum,
            self.band_lo, self.band_hi, self.cov_prob, self.gc_from_age, self.gc_cum,
            self.ind_cum, self.ind_codes, self.region_cum, self.region_codes, self.region_asian,
            self.cop_rows, self.cop_kind, self.cop_chol, get_num_threads())
        return Cohort(ids, age, cov, gc, ind, region)


def _copula_arrays(spec: SyntheticCohort, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stream rows, kinds 0 age / 1 glucocorticoid / 2 binary, Cholesky factor) of the cohort's
    Gaussian copula; empty without one."""
    c = spec.correlation
    if c is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros((0, 0))
    rows = np.array([names.index(v) for v in c.variables], dtype=np.int64)
    kind = np.array([0 if v == "age" else 1 if v == "glucocorticoid" else 2 for v in c.variables], dtype=np.int8)
    return rows, kind, np.ascontiguousarray(c.cholesky(), dtype=np.float64)


def resample(table: PatientTable, seed: int, ids: np.ndarray) -> Cohort:
    """Resample rows of a user's table with replacement (row chosen by patient id)."""
    nrows = table.age.shape[0]
    rows = np.minimum((_u(seed, "resample", ids) * nrows).astype(np.int64), nrows - 1)
    return Cohort(ids, table.age[rows], table.covariates[rows], table.gc_band[rows], table.indication[rows],
                  table.region[rows])


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _binary(values: list, column: str, path: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.uint8)
    for i, v in enumerate(values):
        s = str(v).strip().lower() if v is not None else ""
        if s in _TRUE or s == "1.0":
            out[i] = 1
        elif s in _FALSE or s == "0.0":
            out[i] = 0
        else:
            raise CohortFileError(f"{path}: column '{column}', row {i + 1}: {v!r} is not 0/1 or true/false")
    return out


def _categorical(values: list, column: str, path: str, allowed: dict[str, int]) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        s = str(v).strip().lower() if v is not None else ""
        if s not in allowed:
            raise CohortFileError(f"{path}: column '{column}', row {i + 1}: {v!r} is not allowed; "
                                  f"allowed: {', '.join(sorted(set(allowed)))}")
        out[i] = allowed[s]
    return out


def read_patient_table(spec: FileCohort, base_dir: Path) -> PatientTable:
    """Read and validate a CSV or Parquet table of patient characteristics.

    Required: ``age`` (years, 0-120) and ``sex`` (F/M) or ``female`` (0/1). Optional:
    ``asia`` (0/1), ``region`` (a name of REGIONS, which sets asia; or asia / rest_of_world:
    the one-flag form), ``indication`` (ra/uc/psa/ad), ``glucocorticoid_band`` (none /
    up_to_5mg / over_5_to_10mg / over_10mg, or the two-band below_7_5mg / at_least_7_5mg),
    ``prior_zoster``, ``diabetes``, ``zoster_vaccinated``, ``chronic_lung_disease``,
    ``concomitant_csdmard`` (0/1). Other columns are ignored; rows are resampled whole, so the
    table's joint distribution of the characteristics is kept.
    """
    table, shown = _read_table(spec, base_dir)
    cols = {c.lower(): c for c in table.column_names}
    if table.num_rows == 0:
        raise CohortFileError(f"{shown}: the table has no rows")
    age = _age_column(table, cols, shown)
    cov, gc, ind, region, defaulted = _characteristics(table, cols, shown)
    return PatientTable(shown, age, cov, gc, ind, region, tuple(defaulted))


def _read_table(spec: FileCohort, base_dir: Path):
    """(Arrow table, name as the user gave it) of a cohort file; one-line errors."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(spec.from_file)
    path = path if path.is_absolute() else base_dir / path
    shown = str(spec.from_file)
    if not path.is_file():
        raise CohortFileError(f"cohort.from_file: file not found: '{path}'; give the path of a .csv or "
                              ".parquet table of patients (relative to the scenario file's folder)")
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        elif path.suffix.lower() == ".csv":
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        else:
            raise CohortFileError(f"cohort.from_file: '{shown}' must end in .csv or .parquet")
    except (pa.ArrowInvalid, OSError) as exc:
        why = " ".join(str(exc).split())
        raise CohortFileError(f"cohort.from_file: cannot read '{shown}': {why}") from None
    seen: dict[str, str] = {}
    for name in table.column_names:
        if name.lower() in seen:
            raise CohortFileError(f"{shown}: column '{name}' appears more than once (as '{seen[name.lower()]}' "
                                  f"and '{name}'; case is ignored); give each column once")
        seen[name.lower()] = name
    return table, shown


def _age_column(table, cols: dict[str, str], shown: str) -> np.ndarray:
    """Ages in years (float64); the first bad value is named with its row."""
    import pyarrow as pa

    if "age" not in cols:
        raise CohortFileError(f"{shown}: missing column 'age' (years at treatment start); "
                              f"found: {', '.join(table.column_names)}")
    column = table[cols["age"]]
    age = None
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        age = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    if age is None or not np.all(np.isfinite(age) & (age >= 0) & (age <= 120)):
        for i, v in enumerate(column.to_pylist()):  # name the first bad value and its row
            try:
                ok = v is not None and not isinstance(v, bool) and 0 <= float(v) <= 120
            except (TypeError, ValueError):
                ok = False
            if not ok:
                shown_v = "an empty value" if v is None else repr(v)
                raise CohortFileError(f"{shown}: column 'age', row {i + 1}: {shown_v} is not allowed; "
                                      "allowed: a number of years between 0 and 120")
        age = np.asarray(column.to_pylist(), dtype=np.float64)
    return age


def _characteristics(table, cols: dict[str, str], shown: str):
    """(binary covariates, steroid band, indication, region, names of columns defaulted) of a cohort table."""
    n = table.num_rows

    def values(name):
        return table[cols[name]].to_pylist()

    defaulted = []
    cov = np.zeros((n, len(BINARY_COVARIATES)), dtype=np.uint8)
    if "female" in cols:
        cov[:, 0] = _binary(values("female"), "female", shown)
    elif "sex" in cols:
        cov[:, 0] = _categorical(values("sex"), "sex", shown, {"f": 1, "female": 1, "m": 0, "male": 0})
    else:
        raise CohortFileError(f"{shown}: missing column 'sex' (F/M) or 'female' (0/1); "
                              f"found: {', '.join(table.column_names)}")
    region = np.zeros(n, np.int8)
    if "region" in cols:
        region, asian = _region_column(values("region"), shown)
    if "asia" in cols:
        cov[:, 1] = _binary(values("asia"), "asia", shown)
        if "region" in cols and np.any((region > 0) & (cov[:, 1] != asian)):
            i = int(np.flatnonzero((region > 0) & (cov[:, 1] != asian))[0])
            raise CohortFileError(f"{shown}: row {i + 1}: region '{REGIONS[region[i]]}' contradicts asia = "
                                  f"{cov[i, 1]}; give asia 1 exactly for {', '.join(ASIAN_REGIONS)}")
    elif "region" in cols:
        cov[:, 1] = asian
    else:
        defaulted.append("asia")
    for c, name in enumerate(BINARY_COVARIATES[2:], start=2):
        if name in cols:
            cov[:, c] = _binary(values(name), name, shown)
        else:
            defaulted.append(name)
    if "glucocorticoid_band" in cols:
        gc = _categorical(values("glucocorticoid_band"), "glucocorticoid_band", shown,
                          {b: band_index(b) for b in (*GLUCOCORTICOID_BANDS, *LEGACY_GLUCOCORTICOID_BANDS)})
    else:
        gc = np.zeros(n, np.int8)
        defaulted.append("glucocorticoid_band")
    if "indication" in cols:
        ind = _categorical(values("indication"), "indication", shown,
                           {b: i for i, b in enumerate(INDICATIONS)})
    else:
        ind = np.zeros(n, np.int8)
        defaulted.append("indication")
    return cov, gc, ind, region, defaulted


def _region_column(values: list, shown: str) -> tuple[np.ndarray, np.ndarray]:
    """(region code, asia 0/1) of each row: a name of REGIONS, or the one-flag asia / rest_of_world."""
    allowed = {**{r: i for i, r in enumerate(REGIONS)}, "asia": -1, "rest_of_world": -2}
    code = _categorical(values, "region", shown, allowed)
    asian = np.array([REGIONS[c] in ASIAN_REGIONS if c >= 0 else c == -1 for c in code], dtype=np.uint8)
    return np.maximum(code, 0).astype(np.int8), asian


class CohortSource:
    """Makes the cohort of any block of patient ids for a scenario."""

    def __init__(self, scenario: Scenario):
        self.seed = scenario.seed
        self.spec = scenario.cohort
        self.table = (read_patient_table(self.spec, scenario.base_dir)
                      if isinstance(self.spec, FileCohort) else None)
        self._synthesiser: Synthesiser | None = None   # made with the first block (needs scipy)

    @property
    def age_advances(self) -> bool:
        return self.spec.age_advances

    def indications(self) -> list[str] | None:
        """Indications present (file cohorts), so rates are needed for exactly these."""
        if self.table is None:
            return None
        return [INDICATIONS[i] for i in sorted(set(self.table.indication.tolist()))]

    def block(self, start: int, stop: int) -> Cohort:
        ids = np.arange(start, stop, dtype=np.int64)
        if self.table is not None:
            return resample(self.table, self.seed, ids)
        if self._synthesiser is None:
            assert isinstance(self.spec, SyntheticCohort)
            self._synthesiser = Synthesiser(self.spec, self.seed)
        return self._synthesiser(ids)
