"""Scenario files, the cohort section: patient characteristics and their codes.

Band, region and covariate names (and their kernel codes) are declared here once; the
synthetic cohort draws from the distributions, a file cohort resamples a user's table.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from jaksim.codes import GLUCOCORTICOID_BANDS, REGIONS  # noqa: F401 (re-exported with the schema)
from jaksim.scenario.base import Model, Probability, ValueErrorAt, normal_mass

Indication = Literal["ra", "uc", "psa", "ad", "as"]
#: glucocorticoid bands (``codes.GLUCOCORTICOID_BANDS``): none, <= 5, > 5-10, > 10 mg/day
#: The two-band form of earlier scenarios and patient files, read as two of the four bands (an
#: assumption, docs/design.md): < 7.5 mg/day as <= 5 (low-dose RA use is mostly 5 mg or less),
#: >= 7.5 mg/day as > 5-10 (7.5-10 mg/day is the commonest dose above 7.5).
LEGACY_GLUCOCORTICOID_BANDS: dict[str, str] = {"below_7_5mg": "up_to_5mg", "at_least_7_5mg": "over_5_to_10mg"}
GlucocorticoidBand = Literal["none", "up_to_5mg", "over_5_to_10mg", "over_10mg", "below_7_5mg", "at_least_7_5mg"]
INDICATIONS: tuple[str, ...] = ("ra", "uc", "psa", "ad", "as")
#: Binary patient covariates that carry a hazard ratio, in kernel column order.
BINARY_COVARIATES: tuple[str, ...] = ("female", "asia", "prior_zoster", "diabetes", "zoster_vaccinated",
                                      "chronic_lung_disease", "concomitant_csdmard")
#: Regions of enrolment or residence (``codes.REGIONS``, kernel codes 0..R-1). ``unspecified`` (code 0, hazard ratio 1)
#: is the one-flag form: the ``asia`` covariate alone. A named region sets ``asia`` (1 for the
#: Asian regions) and its hazard ratio is relative to the pooled Asian or non-Asian patients.
ASIAN_REGIONS: tuple[str, ...] = ("japan", "korea_taiwan", "china", "other_asia")
Region = Literal["unspecified", "north_america", "western_europe", "eastern_europe", "latin_america",
                 "japan", "korea_taiwan", "china", "other_asia"]


def band_index(band: str) -> int:
    """Kernel code of a glucocorticoid band name (the two-band names read as mapped)."""
    return GLUCOCORTICOID_BANDS.index(LEGACY_GLUCOCORTICOID_BANDS.get(band, band))


# ----------------------------------------------------------------------------- cohort
class TruncatedNormalAge(Model):
    """Age at index date (years), normal truncated to [min_years, max_years]."""

    distribution: Literal["truncated_normal"]
    mean_years: float = Field(ge=0, le=120, description="mean before truncation, years")
    sd_years: float = Field(gt=0, le=60, description="standard deviation before truncation, years")
    min_years: float = Field(18.0, ge=0, le=120)
    max_years: float = Field(100.0, ge=0, le=120)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_years >= self.max_years:
            raise ValueErrorAt(f"min_years ({self.min_years:g}) must be below max_years ({self.max_years:g})",
                               at=("min_years",))
        mass = normal_mass(self.mean_years, self.sd_years, self.min_years, self.max_years)
        if mass < 1e-6:
            raise ValueErrorAt(f"a normal with mean {self.mean_years:g} and SD {self.sd_years:g} years has "
                               f"{mass:.1g} of its mass in [{self.min_years:g}, {self.max_years:g}]: the window "
                               "contradicts the mean and SD (at least 1e-6 needed)", at=("mean_years",))
        return self


class AgeBand(Model):
    """Share of patients with age uniform in [min_years, max_years)."""

    min_years: float = Field(ge=0, le=120)
    max_years: float = Field(gt=0, le=120)
    share: Probability

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_years >= self.max_years:
            raise ValueErrorAt(f"min_years ({self.min_years:g}) must be below max_years ({self.max_years:g})",
                               at=("min_years",))
        return self


class AgeBands(Model):
    """Age at index date from bands; shares must add up to 1."""

    distribution: Literal["bands"]
    bands: list[AgeBand] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _shares(cls, bands):
        total = sum(b.share for b in bands)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"band shares add up to {total:g}; they must add up to 1")
        return bands


AgeDistribution = Annotated[TruncatedNormalAge | AgeBands, Field(discriminator="distribution")]


class GlucocorticoidShares(Model):
    """Share of patients in each glucocorticoid band (mg/day prednisone-equivalent); the rest
    take none. ``below_7_5mg`` / ``at_least_7_5mg`` (the two-band form) are read as
    ``up_to_5mg`` / ``over_5_to_10mg`` and cannot be mixed with the four-band keys."""

    up_to_5mg: Probability | None = Field(None, description="share on <= 5 mg/day (none given: 0)")
    over_5_to_10mg: Probability | None = Field(None, description="share on > 5-10 mg/day (none given: 0)")
    over_10mg: Probability | None = Field(None, description="share on > 10 mg/day (none given: 0)")
    below_7_5mg: Probability | None = Field(None, description="two-band form, read as up_to_5mg")
    at_least_7_5mg: Probability | None = Field(None, description="two-band form, read as over_5_to_10mg")

    @model_validator(mode="after")
    def _sum(self):
        legacy = [k for k in LEGACY_GLUCOCORTICOID_BANDS if getattr(self, k) is not None]
        new = [k for k in GLUCOCORTICOID_BANDS[1:] if getattr(self, k) is not None]
        if legacy and new:
            raise ValueErrorAt(f"the two-band key {legacy[0]} cannot be mixed with the four-band key {new[0]}; "
                               f"use {', '.join(GLUCOCORTICOID_BANDS[1:])}", at=(legacy[0],))
        total = sum(self.band_shares())
        if total > 1.0 + 1e-12:
            raise ValueError(f"glucocorticoid band shares must not exceed 1 in total (got {total:g})")
        return self

    def band_shares(self) -> tuple[float, ...]:
        """Shares of the bands after ``none`` (<= 5, > 5-10, > 10 mg/day), the two-band form mapped."""
        return ((self.up_to_5mg or 0.0) + (self.below_7_5mg or 0.0),
                (self.over_5_to_10mg or 0.0) + (self.at_least_7_5mg or 0.0), self.over_10mg or 0.0)


class GlucocorticoidFromAge(GlucocorticoidShares):
    """Band shares that apply from ``from_age_years`` on (overriding younger entries)."""

    from_age_years: float = Field(ge=0, le=120)


class Glucocorticoid(GlucocorticoidShares):
    """Glucocorticoid band prevalence, optionally different from given ages on."""

    by_age: list[GlucocorticoidFromAge] = []


#: characteristics a Gaussian copula can correlate (``cohort.correlation.variables``)
CorrelatedCharacteristic = Literal["age", "glucocorticoid", "female", "asia", "prior_zoster", "diabetes",
                                   "zoster_vaccinated", "chronic_lung_disease", "concomitant_csdmard"]
CORRELATED_CHARACTERISTICS: tuple[str, ...] = ("age", "glucocorticoid", *BINARY_COVARIATES)


class Correlation(Model):
    """A Gaussian copula: each named characteristic is drawn from a latent standard normal, and
    ``matrix`` is the correlation matrix of those normals (symmetric, ones on the diagonal,
    positive definite). A higher latent value means a higher age, a higher glucocorticoid band
    (none < <= 5 < > 5-10 < > 10 mg/day) or having a binary characteristic. Margins (shares,
    age distribution, band shares by age) stay as given."""

    variables: list[CorrelatedCharacteristic] = Field(min_length=2, description="characteristics, in matrix order")
    matrix: list[list[Annotated[float, Field(ge=-1, le=1)]]] = Field(
        description="latent normal correlations, one row per variable")

    @model_validator(mode="after")
    def _valid_matrix(self):
        k = len(self.variables)
        for i, v in enumerate(self.variables):
            if v in self.variables[:i]:
                raise ValueErrorAt(f"'{v}' is named twice; name each characteristic once", at=("variables", i))
        if len(self.matrix) != k:
            raise ValueErrorAt(f"{len(self.matrix)} rows for {k} variables; give one row per variable",
                               at=("matrix",))
        for i, row in enumerate(self.matrix):
            if len(row) != k:
                raise ValueErrorAt(f"row {i + 1} has {len(row)} values for {k} variables", at=("matrix", i))
            if row[i] != 1.0:
                raise ValueErrorAt(f"the diagonal must be 1 (got {row[i]:g} for {self.variables[i]})",
                                   at=("matrix", i, i))
            for j in range(i):
                if row[j] != self.matrix[j][i]:
                    raise ValueErrorAt(f"the matrix must be symmetric: {row[j]:g} here, {self.matrix[j][i]:g} in "
                                       f"row {j + 1}, column {i + 1}", at=("matrix", i, j))
        if self.cholesky() is None:
            raise ValueErrorAt("the matrix is not positive definite (no correlation matrix has these values "
                               "together); make the correlations smaller", at=("matrix",))
        return self

    def cholesky(self):
        """Lower-triangular L with L L^T = matrix (numpy float64), or None if not positive definite."""
        import numpy as np
        try:
            return np.linalg.cholesky(np.array(self.matrix, dtype=np.float64))
        except np.linalg.LinAlgError:
            return None


class SyntheticCohort(Model):
    """Patient characteristics drawn from distributions (one row per patient)."""

    age: AgeDistribution
    age_advances: bool = Field(True, description="age (and age-dependent hazards) advance during follow-up")
    female: Probability
    asia: Probability = 0.0
    region: dict[Region, Probability] | None = Field(
        None, description="shares by region (add up to 1); sets asia, so not with asia")
    indication: Indication | dict[Indication, Probability] = "ra"
    glucocorticoid: Glucocorticoid = Glucocorticoid()
    prior_zoster: Probability = 0.0
    diabetes: Probability = 0.0
    zoster_vaccinated: Probability = 0.0
    chronic_lung_disease: Probability = Field(0.0, description="share with chronic lung disease (COPD, ILD, asthma)")
    concomitant_csdmard: Probability = Field(0.0, description="share on a csDMARD (methotrexate) with the drug")
    correlation: Correlation | None = Field(None, description="Gaussian copula of characteristics (default: "
                                                              "independent, glucocorticoid band by age)")

    @field_validator("indication", "region")
    @classmethod
    def _shares(cls, v, info):
        if isinstance(v, dict):
            total = sum(v.values())
            if not v or abs(total - 1.0) > 1e-9:
                raise ValueError(f"{info.field_name} shares add up to {total:g}; they must add up to 1")
        return v

    @model_validator(mode="after")
    def _one_region_form(self):
        if self.region is not None and self.asia > 0:
            raise ValueErrorAt("give either asia (the one-flag form) or region shares, not both: region sets "
                               f"asia for {', '.join(ASIAN_REGIONS)}", at=("asia",))
        c = self.correlation
        if c is not None and "age" in c.variables and self.age.distribution != "truncated_normal":
            raise ValueErrorAt("age in a correlation needs a truncated_normal age distribution (age bands "
                               "are drawn band by band)", at=("correlation", "variables", c.variables.index("age")))
        if c is not None and "asia" in c.variables and self.region is not None:
            raise ValueErrorAt("asia is set by region shares here; correlate it only in the one-flag form",
                               at=("correlation", "variables", c.variables.index("asia")))
        return self

    def asia_share(self) -> float:
        """Share of Asian patients: ``asia``, or the Asian regions' shares."""
        if self.region is None:
            return self.asia
        return sum(v for k, v in self.region.items() if k in ASIAN_REGIONS)


class FileCohort(Model):
    """Patients resampled with replacement from a user's CSV or Parquet table."""

    from_file: str = Field(min_length=1, description="path to .csv or .parquet, relative to the scenario file")
    age_advances: bool = True


Cohort = Annotated[
    Annotated[SyntheticCohort, Tag("synthetic")] | Annotated[FileCohort, Tag("file")],
    Discriminator(lambda v: "file" if (isinstance(v, dict) and "from_file" in v)
                  or isinstance(v, FileCohort) else "synthetic"),
]
