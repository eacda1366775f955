"""Scenario files: validated, frozen configuration objects with line-numbered errors.

A scenario is YAML with the sections ``name``, ``seed``, ``n_patients``, ``horizon_years``,
``cohort``, ``treatment``, ``infections``, ``mortality`` and ``arms``. Arms are named
overrides of ``treatment``, ``infections`` and ``mortality``; every arm simulates the same
patients. This module knows nothing of numba or the parameter library's numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from jaksim.codes import TUBERCULOSIS, VARICELLA, ZOSTER
from jaksim.errors import ScenarioError
from jaksim.scenario.base import (
    MAX_RATE_PER_100PY,
    HazardRatio,
    Model,
    Name,
    Probability,
    ValueErrorAt,
)
from jaksim.scenario.clinic import Clinic  # noqa: F401 (re-exported)
from jaksim.scenario.cohort_schema import (  # noqa: F401 (re-exported: the scenario schema in one place)
    ASIAN_REGIONS,
    BINARY_COVARIATES,
    GLUCOCORTICOID_BANDS,
    INDICATIONS,
    LEGACY_GLUCOCORTICOID_BANDS,
    REGIONS,
    AgeBand,
    AgeBands,
    AgeDistribution,
    Cohort,
    FileCohort,
    Glucocorticoid,
    GlucocorticoidBand,
    GlucocorticoidFromAge,
    GlucocorticoidShares,
    Indication,
    Region,
    SyntheticCohort,
    TruncatedNormalAge,
    band_index,
)
from jaksim.scenario.economics import Economics
from jaksim.scenario.frailty import FrailtySetting, check_frailty_types
from jaksim.scenario.psa_settings import PsaSettings
from jaksim.scenario.screening import TbScreening
from jaksim.scenario.vzv import VzvScreening


# -------------------------------------------------------------------------- treatment
class GlucocorticoidTaper(Model):
    """From ``at_weeks`` after treatment start, nobody is above ``max_band``."""

    at_weeks: float = Field(ge=0, le=5200)
    max_band: GlucocorticoidBand


class Treatment(Model):
    """The drug and dose every patient of an arm starts at t = 0."""

    drug: str = Field(min_length=1)
    dose_mg: float = Field(ge=0, description="dose per administration, mg")
    discontinuation_rate_per_100py: float | None = Field(None, ge=0, le=MAX_RATE_PER_100PY,
                                                         description="all-cause stop hazard; default from library")
    off_treatment_hazard_ratio: HazardRatio | None = Field(
        None, description="multiplies every infection hazard after stopping (per-type values win)")
    glucocorticoid_taper: list[GlucocorticoidTaper] = []


# -------------------------------------------------------------------------- infections
class HazardRatios(Model):
    """Hazard ratios of one infection type; a missing one comes from the library."""

    age_per_10_years: HazardRatio | None = None
    reference_age_years: float | None = Field(None, ge=0, le=120,
                                              description="age at which the age factor is 1")
    glucocorticoid_up_to_5mg: HazardRatio | None = None
    glucocorticoid_over_5_to_10mg: HazardRatio | None = None
    glucocorticoid_over_10mg: HazardRatio | None = None
    glucocorticoid_below_7_5mg: HazardRatio | None = Field(None, description="two-band form: <= 5 mg/day band")
    glucocorticoid_7_5mg_or_more: HazardRatio | None = Field(
        None, description="two-band form: the > 5-10 and > 10 mg/day bands")
    female: HazardRatio | None = None
    asia: HazardRatio | None = None
    prior_zoster: HazardRatio | None = None
    diabetes: HazardRatio | None = None
    zoster_vaccinated: HazardRatio | None = None
    chronic_lung_disease: HazardRatio | None = None
    concomitant_csdmard: HazardRatio | None = None
    region: dict[Region, HazardRatio] = Field(
        {}, description="by region, relative to the pooled Asian or non-Asian patients (asia carries that)")

    @model_validator(mode="after")
    def _one_band_form(self):
        legacy = [k for k in ("glucocorticoid_below_7_5mg", "glucocorticoid_7_5mg_or_more") if getattr(self, k)]
        new = [f"glucocorticoid_{b}" for b in GLUCOCORTICOID_BANDS[1:] if getattr(self, f"glucocorticoid_{b}")]
        if legacy and new:
            raise ValueErrorAt(f"the two-band key {legacy[0]} cannot be mixed with the four-band key {new[0]}",
                               at=(legacy[0],))
        if self.region.get("unspecified", 1.0) != 1.0:
            raise ValueErrorAt("the hazard ratio of 'unspecified' is 1 by definition (the pooled patients)",
                               at=("region", "unspecified"))
        return self

    def glucocorticoid(self, band: str) -> float | None:
        """The hazard ratio given for a band (<= 5, > 5-10, > 10 mg/day), the two-band form mapped."""
        given = getattr(self, f"glucocorticoid_{band}")
        if given is not None:
            return given
        return self.glucocorticoid_below_7_5mg if band == "up_to_5mg" else (
            None if band == "none" else self.glucocorticoid_7_5mg_or_more)


class TimeOnTreatmentStep(Model):
    """Hazard multiplier on treatment from the previous step's end until ``until_years``."""

    until_years: float = Field(gt=0, le=100)
    hazard_ratio: HazardRatio


#: what a rate typed in a scenario describes when ``applies_to`` is not given
DEFAULT_APPLIES_TO: Literal["reference_patient", "population"] = "reference_patient"


class TypedRate(Model):
    """A rate typed in the scenario and whom it describes.

    ``reference_patient``: the rate of the model's reference patient (reference age, male, no
    glucocorticoid, no covariate), which hazard ratios then raise or lower; ``population``: the
    rate in this scenario's own cohort, calibrated to it (all events per 100 PY on treatment).
    """

    value: float = Field(ge=0, le=MAX_RATE_PER_100PY, description="events per 100 patient-years")
    applies_to: Literal["reference_patient", "population"] = DEFAULT_APPLIES_TO


class Infection(Model):
    """One infection type: its rate for the reference patient, modifiers and consequences."""

    rate_per_100py: float | TypedRate | None = Field(
        None, description="events per 100 patient-years (a number: the reference patient's; or "
                          "{value, applies_to: population | reference_patient}); default from the evidence")
    recurrent: bool = True
    hazard_ratios: HazardRatios = HazardRatios()
    time_on_treatment: list[TimeOnTreatmentStep] = []
    off_treatment_hazard_ratio: HazardRatio | None = None
    hospitalisation_probability: Probability | None = None
    serious_probability: Probability | None = None
    discontinuation_probability: Probability | None = None
    background_incidence: Literal["low", "medium", "high"] | None = Field(
        None, description="tuberculosis only: background TB incidence of the setting (library ratio)")
    post_herpetic_neuralgia_probability: Probability | None = Field(
        None, description="per episode, all ages; default (herpes_zoster): library, by age")

    @field_validator("rate_per_100py")
    @classmethod
    def _rate_range(cls, v):
        if isinstance(v, float | int) and not 0 <= v <= MAX_RATE_PER_100PY:
            raise ValueError(f"must be greater than or equal to 0 and at most {MAX_RATE_PER_100PY:g} events per "
                             f"100 patient-years (got {float(v)!r})")
        return v

    @property
    def typed_rate(self) -> TypedRate | None:
        """The typed rate with whom it applies to (None: not typed, the library's is used)."""
        r = self.rate_per_100py
        return r if isinstance(r, TypedRate) or r is None else TypedRate(value=float(r))

    @field_validator("time_on_treatment")
    @classmethod
    def _increasing(cls, steps):
        ends = [s.until_years for s in steps]
        for i in range(1, len(ends)):
            if ends[i] <= ends[i - 1]:
                raise ValueErrorAt(f"until_years must strictly increase from step to step (got {ends[i]:g} "
                                   f"after {ends[i - 1]:g})", at=(i, "until_years"))
        return steps


# -------------------------------------------------------------------------- mortality
class Mortality(Model):
    """Background mortality (life table by age and sex, or a constant rate) and case fatality."""

    life_table: str | None = Field(None, description="library table name or path to a CSV age,male_qx,female_qx")
    rate_per_100py: float | None = Field(None, ge=0, le=MAX_RATE_PER_100PY,
                                         description="constant background death rate")
    excess_mortality_ratio: float | None = Field(None, ge=1e-3, le=100,
                                                 description="multiplies life-table hazards (e.g. RA SMR)")
    case_fatality: dict[Name, Probability] = {}

    @model_validator(mode="after")
    def _one_source(self):
        if self.life_table is not None and self.rate_per_100py is not None:
            raise ValueErrorAt(f"give either life_table or rate_per_100py, not both (got life_table "
                               f"{self.life_table!r} and rate_per_100py {self.rate_per_100py:g}; an arm "
                               "that switches from one to the other sets the base section's one to null)",
                               at=("life_table",))
        if self.rate_per_100py is not None and self.excess_mortality_ratio is not None:
            raise ValueErrorAt("excess_mortality_ratio applies to a life_table, not to rate_per_100py "
                               f"(got excess_mortality_ratio {self.excess_mortality_ratio:g})",
                               at=("excess_mortality_ratio",))
        return self


# ------------------------------------------------------------------------ vaccination
class Eligibility(Model):
    """Who is offered vaccination: every criterion given must hold (none given: everyone)."""

    min_age_years: float | None = Field(None, ge=0, le=120, description="age at treatment start, years")
    glucocorticoid_users: bool = Field(False, description="only patients on glucocorticoids at start")
    prior_zoster: bool = Field(False, description="only patients with prior herpes zoster")


class Vaccination(Model):
    """A zoster vaccination strategy of one arm."""

    vaccine: Literal["recombinant", "live"]
    eligible: Eligibility = Eligibility()
    first_dose_weeks: float = Field(-4.0, ge=-520, le=520,
                                    description="dose 1 relative to planned treatment start (negative: before)")
    uptake: Probability = Field(1.0, description="share of eligible patients who accept")
    second_dose_interval_weeks: float | None = Field(None, ge=1, le=104, description="default from library")
    second_dose_completion: Probability = Field(1.0, description="share of dose-1 recipients who get dose 2")
    treatment_waits_for_first_dose: bool = Field(
        False, description="treatment starts only wait_weeks_after_first_dose after dose 1 (if later than planned)")
    wait_weeks_after_first_dose: float = Field(0.0, ge=0, le=104)
    clinic: Clinic | None = Field(None, description="limited capacity: vaccination times come from the pathway")
    efficacy_multiplier: float = Field(
        1.0, ge=0, le=1, description="multiplies every vaccinee's efficacy (0: a vaccine without effect, "
                                     "for checks and sensitivity analyses)")

    @model_validator(mode="after")
    def _live_never_on_treatment(self):
        if self.vaccine != "live":
            return self
        rule = ("live zoster vaccine is contraindicated on JAK inhibitors: it may only be given at least "
                "4 weeks before treatment start")
        if self.clinic is None and self.first_dose_weeks > -4 and not (
                self.treatment_waits_for_first_dose and self.wait_weeks_after_first_dose >= 4):
            raise ValueErrorAt(f"{rule}; use first_dose_weeks <= -4, or treatment_waits_for_first_dose: true "
                               f"with wait_weeks_after_first_dose >= 4 (got {self.first_dose_weeks:g})",
                               at=("first_dose_weeks",))
        if self.clinic is not None and not (self.treatment_waits_for_first_dose
                                            and self.wait_weeks_after_first_dose >= 4):
            raise ValueErrorAt(f"{rule}; with a capacity-limited clinic the dose date is not known in advance, "
                               "so set treatment_waits_for_first_dose: true and wait_weeks_after_first_dose >= 4",
                               at=("treatment_waits_for_first_dose",))
        if self.second_dose_interval_weeks is not None:
            raise ValueErrorAt("the live zoster vaccine has a single dose; remove second_dose_interval_weeks",
                               at=("second_dose_interval_weeks",))
        return self


# -------------------------------------------------------------------------- scenario
ARM_KEYS = ("description", "treatment", "infections", "mortality", "vaccination", "tb_screening", "vzv_screening",
            "economics")


class Arm(Model):
    """One fully resolved arm: the base scenario with the arm's overrides applied."""

    name: Name
    description: str = ""
    treatment: Treatment
    infections: dict[Name, Infection] = Field(min_length=1)
    mortality: Mortality = Mortality()
    vaccination: Vaccination | None = None
    tb_screening: TbScreening | None = None
    vzv_screening: VzvScreening | None = None
    economics: Economics | None = None

    @model_validator(mode="after")
    def _case_fatality_types(self):
        if self.tb_screening is not None and TUBERCULOSIS not in self.infections:
            raise ValueErrorAt(f"tb_screening needs the infection type '{TUBERCULOSIS}' in infections "
                               f"(got {', '.join(self.infections)})", at=("tb_screening",))
        if VARICELLA in self.infections and self.vzv_screening is None:
            raise ValueErrorAt(f"the infection type '{VARICELLA}' needs vzv_screening (who is seronegative); add "
                               "vzv_screening: {serology: false} to model serostatus without testing",
                               at=("infections", VARICELLA))
        if self.vzv_screening is not None and not {ZOSTER, VARICELLA} & set(self.infections):
            raise ValueErrorAt(f"vzv_screening needs the infection type '{VARICELLA}' or '{ZOSTER}' in infections "
                               f"(got {', '.join(self.infections)})", at=("vzv_screening",))
        if self.vzv_screening is not None and self.vzv_screening.zoster_vaccine_seropositive_only and (
                self.vaccination is None or self.vaccination.clinic is not None):
            raise ValueErrorAt("zoster_vaccine_seropositive_only needs the arm's vaccination without a clinic "
                               "(the clinic books patients before their serology is known)",
                               at=("vzv_screening", "zoster_vaccine_seropositive_only"))
        if self.economics is not None:
            unknown = [t for t in self.economics.events if t not in self.infections]
            if unknown:
                raise ValueErrorAt(f"economics.events names infection type(s) not simulated: {', '.join(unknown)}; "
                                   f"allowed: {', '.join(self.infections)}",
                                   at=("economics", "events", unknown[0]))
        unknown = [t for t in self.mortality.case_fatality if t not in self.infections]
        if unknown:
            raise ValueErrorAt(f"case_fatality names infection type(s) not simulated: {', '.join(unknown)}; "
                               f"allowed: {', '.join(self.infections)}",
                               at=("mortality", "case_fatality", unknown[0]))
        return self


class Scenario(Model):
    """A validated scenario: study population, arms and run settings."""

    name: Name
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    n_patients: int = Field(ge=1, le=2**40)
    horizon_years: float = Field(gt=0, le=100)
    cohort: Cohort
    arms: tuple[Arm, ...] = Field(min_length=1)
    evidence: Literal["relative_effects", "programme_rates"] = Field(
        "relative_effects", description="relative_effects: baseline risk on csDMARD x relative effects from "
                                        "randomised evidence; programme_rates: each drug's own programme rate")
    time_on_treatment_profile: Literal["library", "none"] = Field(
        "library", description="library: the library's time-on-treatment profile of each drug and type where it "
                               "has one (library rates only); none: constant hazard on treatment unless "
                               "infections.<type>.time_on_treatment gives steps")
    library: str | None = Field(None, description="a user library YAML file (path relative to the scenario) "
                                                  "adding or overriding drugs, baselines, relative effects, ...")
    psa: PsaSettings | None = None
    frailty: FrailtySetting = Field("none", description="per-patient gamma frailty by infection type: none, "
                                                        "library, or per type {variance} | library | none")

    _source: Any = PrivateAttr(default=None)
    _raw: Any = PrivateAttr(default=None)              # the file's data as written (values, no distributions)
    _distributions: Any = PrivateAttr(default_factory=dict)   # key path -> (value, Distribution)

    @field_validator("arms")
    @classmethod
    def _unique(cls, arms):
        names = [a.name for a in arms]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"arm names must be unique (repeated: {', '.join(sorted(dup))})")
        for i, arm in enumerate(arms):
            for t in arm.infections:
                other = next((b for b in arms if t not in b.infections), None)
                if other is not None:
                    raise ValueErrorAt(f"infection type '{t}' is simulated in arm '{arm.name}' but not in arm "
                                       f"'{other.name}'; every arm must simulate the same infection types "
                                       "(add the type to the base 'infections' section instead)",
                                       at=(i, "infections", t))
        with_econ = [a for a in arms if a.economics is not None]
        if with_econ and len(with_econ) < len(arms):
            bad = next(i for i, a in enumerate(arms) if a.economics is None)
            raise ValueErrorAt(f"arm '{arms[bad].name}' has no economics section but other arms do; put "
                               "'economics' in the base scenario (arms may override parts of it)", at=(bad,))
        for i, a in enumerate(arms[1:], start=1):
            e0, e = arms[0].economics, a.economics
            if e0 is not None and (e.currency, e.discount) != (e0.currency, e0.discount):
                raise ValueErrorAt(f"arm '{a.name}' changes the currency or discount rates of the economics "
                                   "section; every arm must use the reference arm's", at=(i, "economics"))
        return arms

    @model_validator(mode="after")
    def _frailty_types(self):
        check_frailty_types(self.frailty, self.arms[0].infections)
        return self

    @property
    def source_file(self) -> str | None:
        return self._source.file if self._source else None

    @property
    def base_dir(self) -> Path:
        return Path(self._source.file).parent if self._source and self._source.file else Path.cwd()

    @property
    def text(self) -> str | None:
        return self._source.text if self._source else None

    def line_of(self, path: tuple) -> int | None:
        """Line of a key path in the scenario file (nearest existing parent)."""
        return self._source.line_of(path) if self._source else None

    def error(self, path: tuple, message: str) -> ScenarioError:
        """A ScenarioError pointing at ``path`` (a location in the resolved scenario) in the source file.

        ``arms.<i>.…`` locations are reported where the user wrote the key: in the arm's
        overrides, or in the base section the arm inherited it from.
        """
        if self._source is None:
            return ScenarioError(message, path=".".join(map(str, path)) or None)
        user_path, line = self._source.locate(tuple(path))
        return ScenarioError(message, file=self.source_file, line=line,
                             path=".".join(map(str, user_path)) or None)

    def with_overrides(self, **overrides) -> Scenario:
        """A re-validated copy with top-level fields replaced (``n_patients``, ``seed``…)."""
        data = self.model_dump(mode="python")
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in ("n_patients", "seed", "horizon_years", "name", "evidence"):
                raise ScenarioError(f"cannot override '{key}'; allowed: n_patients, seed, horizon_years, name, "
                                    "evidence")
            data[key] = value
        try:
            new = Scenario.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            from jaksim.scenario.load import describe_error
            raise ScenarioError(describe_error(err, Scenario, loc), path=".".join(map(str, loc))) from None
        new._source = self._source
        new._raw, new._distributions = self._raw, self._distributions
        return new
