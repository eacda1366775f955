"""Schema of the parameter library files (pydantic), checked when a file is loaded.

One root model per file kind: :class:`ParametersFile` (``parameters.yaml``),
:class:`SourcePopulationsFile` (``source_populations.yaml``), :class:`VaccinesFile`
(``vaccines.yaml``) and :class:`EconomicsFile` (``economics.yaml``). Models are strict
(no string read as a number) and forbid unknown keys, so a typo'd key or a quoted number is
an error with its line instead of a ``KeyError`` deep in the model. The validated data stay
the plain parsed dicts (the model objects are discarded): provenance records copy library
entries as written, so an integer stays an integer in the outputs' metadata.

Units: rates per 100 patient-years, ages and durations in years, shares and probabilities as
fractions, costs in the currency's units of its price year.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from jaksim.library.pathway_schema import (
    LatentTuberculosis,
    ScreeningCosts,
    VaricellaZosterSerostatus,
    VzvCosts,
)
from jaksim.library.schema_base import (  # noqa: F401  (re-exported: the library's schema in one place)
    CI,
    STATUSES,
    EconomicValue,
    NonNegative,
    PlausibleRatio,
    Positive,
    RatePer100PY,
    Share,
    Status,
    _Sourced,
    _Strict,
)


# ----------------------------------------------------------------------- parameters.yaml
# (latent TB and VZV serostatus sections, and their costs: ``pathway_schema.py``)
class Drug(_Strict):
    drug_class: str
    doses_mg: Annotated[list[NonNegative], Field(min_length=1)]
    schedule: str


class InfectionType(_Strict):
    label: str
    description: str


class Rate(_Sourced):
    """Published incidence of one infection type on one drug and dose (per 100 PY)."""

    drug: str
    dose_mg: NonNegative
    indication: str | None = None
    type: str
    rate_per_100py: RatePer100PY
    ci95_per_100py: CI | None = None
    measure: Literal["first_event", "all_events"] | None = None
    events: Annotated[int, Field(ge=0)] | None = None
    person_years: Positive | None = None
    population: str | None = None
    #: the rate averages a short fixed window from treatment start (e.g. 0.5 for a 24-week trial):
    #: a time-on-treatment profile is normalised over [0, window_years] and extrapolates beyond it
    window_years: Positive | None = None


class HazardRatio(_Sourced):
    """A covariate's hazard ratio for a type; with ``drug`` (and ``dose_mg``) it applies to arms
    of that treatment only (an interaction of the covariate with the drug), instead of the
    entry without a drug."""

    type: str
    covariate: str
    hazard_ratio: PlausibleRatio
    ci95: CI | None = None
    reference_age: NonNegative | None = None
    drug: str | None = None
    dose_mg: NonNegative | None = None


class Consequence(_Sourced):
    type: str
    quantity: Literal["case_fatality", "hospitalisation", "serious", "discontinuation"]
    probability: Share
    ci95: CI | None = None


class Discontinuation(_Sourced):
    drug: str
    rate_per_100py: RatePer100PY
    ci95: CI | None = None


class Frailty(_Sourced):
    """Variance θ of a type's per-patient gamma frailty (mean 1), from recurrence data."""

    type: str
    variance: Annotated[float, Field(ge=0, le=10)]
    ci95: CI | None = None


class OffTreatmentHazardRatio(_Sourced):
    type: str
    hazard_ratio: PlausibleRatio
    ci95: CI | None = None


class Ratio(_Sourced):
    value: PlausibleRatio
    ci95: CI | None = None


class LifeTableRef(_Strict):
    """A life table CSV (columns ``age,male_qx,female_qx``), path relative to the library."""

    file: str
    description: str = ""
    country: str | None = None      # population of the table (the NICE reference case expects a UK one)
    citation: str
    doi_or_url: str | None = None
    status: Status


class Mortality(_Strict):
    excess_mortality_ratio: Ratio | None = None
    life_tables: dict[str, LifeTableRef] = {}
    default_life_table: str | None = None


class BackgroundRate(_Sourced):
    rate_per_100py: Annotated[float, Field(gt=0, le=1000)]
    ci95_per_100py: CI | None = None


class TuberculosisBackground(_Strict):
    programme: BackgroundRate
    settings: dict[str, BackgroundRate] = {}


class PeriodRate(_Strict):
    """A published rate over one period of time on treatment, [from_years, to_years) (null: open)."""

    from_years: NonNegative
    to_years: Positive | None = None
    rate_per_100py: RatePer100PY
    ci95_per_100py: CI | None = None
    person_years: Positive | None = None
    source: str


class TimeOnTreatmentProfile(_Sourced):
    """How one type's hazard on a drug changes with years on treatment.

    ``constant`` (documentation only) or ``piecewise``: ``multipliers`` (one more than
    ``edges_years``) multiply the hazard between the edges, relative to the first period (so the
    first is 1); ``periods`` are the published period rates they were derived from.
    """

    type: str
    profile: Literal["constant", "piecewise"]
    drug: str | None = None
    indication: str | None = None
    edges_years: list[Positive] = []
    multipliers: list[PlausibleRatio] = []
    periods: list[PeriodRate] = []
    read_from: str | None = None

    @model_validator(mode="after")
    def _steps(self):
        if self.profile == "constant":
            if self.edges_years or self.multipliers:
                raise ValueError("a constant profile has no edges_years or multipliers")
            return self
        if self.drug is None:
            raise ValueError("a piecewise profile names its drug")
        if len(self.multipliers) != len(self.edges_years) + 1 or not self.edges_years:
            raise ValueError(f"multipliers needs one value more than edges_years (got {len(self.multipliers)} "
                             f"and {len(self.edges_years)}; at least one edge)")
        if any(b <= a for a, b in zip(self.edges_years, self.edges_years[1:], strict=False)):
            raise ValueError("edges_years must strictly increase")
        if self.multipliers[0] != 1:
            raise ValueError(f"multipliers are relative to the first period, so the first is 1 "
                             f"(got {self.multipliers[0]:g})")
        return self


class ParametersFile(_Strict):
    """``parameters.yaml``: drugs, infection types, rates, hazard ratios, consequences, mortality."""

    drugs: dict[str, Drug]
    infection_types: dict[str, InfectionType]
    rates: list[Rate] = []
    hazard_ratios: list[HazardRatio] = []
    consequences: list[Consequence] = []
    discontinuation: list[Discontinuation] = []
    off_treatment_hazard_ratio: list[OffTreatmentHazardRatio] = []
    mortality: Mortality = Mortality()
    tuberculosis_background_incidence: TuberculosisBackground | None = None
    time_on_treatment_profiles: list[TimeOnTreatmentProfile] = []
    frailty: list[Frailty] = []
    latent_tuberculosis: LatentTuberculosis | None = None
    varicella_zoster_serostatus: VaricellaZosterSerostatus | None = None


# ----------------------------------------------------------------------- source_populations.yaml
class AppliesTo(_Strict):
    """A ``parameters.yaml`` rate entry that this population backs."""

    drug: str
    dose_mg: NonNegative
    type: str
    indication: str | None = None


class PopulationMakeUp(_Strict):
    """What calibration needs of a population: size, exposure, age and covariate shares
    (null: not reported; a typical RA-trial value is then assumed and said)."""

    n_patients: Annotated[int, Field(gt=0)] | None = None
    person_years: Positive | None = None
    follow_up_years: Positive | None = None
    age_mean_years: Positive | None = None
    age_sd_years: Positive | None = None
    female: Share | None = None
    asia: Share | None = None
    glucocorticoid_any: Share | None = None
    glucocorticoid_7_5mg_or_more: Share | None = None
    diabetes: Share | None = None
    prior_zoster: Share | None = None
    chronic_lung_disease: Share | None = None


class SourcePopulation(_Sourced, PopulationMakeUp):
    """Baseline make-up of a trial population behind programme rates (``applies_to``)."""

    id: str
    applies_to: list[AppliesTo] = []
    field_notes: dict[str, str] = {}
    read_from: str | None = None


class SourcePopulationsFile(_Strict):
    source_populations: list[SourcePopulation] = []


# ----------------------------------------------------------------------- vaccines.yaml
class Curve(_Sourced):
    """Vaccine efficacy by years since the last dose, linear between knots."""

    knots_years: Annotated[list[NonNegative], Field(min_length=1)]
    efficacy: Annotated[list[Share], Field(min_length=1)]
    after_last: Literal["hold"] = "hold"

    @model_validator(mode="after")
    def _same_length(self) -> Curve:
        if len(self.knots_years) != len(self.efficacy):
            raise ValueError(f"knots_years and efficacy must have the same length (got {len(self.knots_years)} "
                             f"and {len(self.efficacy)})")
        if any(b <= a for a, b in zip(self.knots_years, self.knots_years[1:], strict=False)):
            raise ValueError(f"knots_years must increase (got {self.knots_years})")
        return self


class Value(_Sourced):
    value: NonNegative


class SecondDoseInterval(_Strict):
    min: Positive
    default: Positive
    max: Positive


class RecombinantAgeGroup(_Sourced):
    from_age_years: NonNegative
    anchor_efficacy: Share
    anchor_ci95: CI | None = None
    anchor_follow_up_years: Positive


class LiveAgeGroup(_Sourced):
    from_age_years: NonNegative
    initial_efficacy: Share


class ImmunosuppressionFactor(_Strict):
    on_jak_inhibitor: Value
    glucocorticoid_7_5mg_or_more: Value


class _Vaccine(_Strict):
    label: str
    live: bool
    doses: Annotated[int, Field(ge=1, le=2)]
    step_years: Positive
    immunosuppression_factor: ImmunosuppressionFactor | None = None


class RecombinantVaccine(_Vaccine):
    second_dose_interval_weeks: SecondDoseInterval
    two_dose_curve: Curve
    one_dose_factor: Value
    age_groups: Annotated[list[RecombinantAgeGroup], Field(min_length=1)]


class LiveVaccine(_Vaccine):
    doses: Literal[1]
    min_weeks_before_treatment: NonNegative | None = None
    one_dose_curve: Curve
    age_groups: Annotated[list[LiveAgeGroup], Field(min_length=1)]


class Vaccines(_Strict):
    recombinant: RecombinantVaccine
    live: LiveVaccine


class PhnProbability(_Sourced):
    from_age_years: NonNegative
    probability: Share


class VaccinesFile(_Strict):
    """``vaccines.yaml``: zoster vaccine efficacy and waning, PHN probability by age."""

    vaccines: Vaccines
    post_herpetic_neuralgia: Annotated[list[PhnProbability], Field(min_length=1)]


# ----------------------------------------------------------------------- economics.yaml
class UtilityByAge(EconomicValue):
    from_age_years: NonNegative


class DiscountPreset(_Strict):
    costs: Annotated[float, Field(ge=0, le=1)]
    outcomes: Annotated[float, Field(ge=0, le=1)]
    willingness_to_pay: Annotated[list[NonNegative], Field(min_length=1)]
    currency: str
    citation: str
    status: Status
    note: str | None = None


class EventCosts(_Strict):
    outpatient: EconomicValue | None = None
    hospitalised: EconomicValue | None = None


class VaccineCosts(_Strict):
    cost_per_dose: EconomicValue
    administration_per_dose: EconomicValue


class CurrencyVaccines(_Strict):
    """Price and administration cost of each vaccine a scenario may choose."""

    recombinant: VaccineCosts
    live: VaccineCosts


class Currency(_Strict):
    price_year: int
    event_costs: dict[str, EventCosts] = {}
    post_herpetic_neuralgia: EconomicValue | None = None
    vaccines: CurrencyVaccines
    tb_screening: ScreeningCosts | None = None
    vzv_screening: VzvCosts | None = None


class Decrement(_Strict):
    decrement: EconomicValue
    duration_years: EconomicValue


class Utility(_Strict):
    baseline_by_age: Annotated[list[UtilityByAge], Field(min_length=1)]
    decrements: dict[str, Decrement]


class ResponseProbability(EconomicValue):
    """Share of patients starting a drug at a dose whose disease becomes controlled."""

    drug: str
    dose_mg: NonNegative
    definition: str


class DiseaseActivity(_Strict):
    """Disease activity on and off treatment (controlled / uncontrolled), for the QALYs that
    waiting, stopping and withholding treatment cost (``economics.disease_activity``)."""

    response_probability: Annotated[list[ResponseProbability], Field(min_length=1)]
    response_onset_weeks: EconomicValue
    loss_of_response_per_year: EconomicValue
    utility_decrement_uncontrolled: EconomicValue
    infection_hazard_ratio_uncontrolled: dict[str, EconomicValue] = {}


class DiscountPresets(_Strict):
    """The presets a scenario may name (``discount: nice``)."""

    nice: DiscountPreset
    us: DiscountPreset


class Currencies(_Strict):
    """The currencies a scenario may name (``currency: GBP``)."""

    GBP: Currency
    USD: Currency


class EconomicsFile(_Strict):
    """``economics.yaml``: discounting presets, costs by currency, utilities."""

    discount_presets: DiscountPresets
    currencies: Currencies
    utility: Utility
    disease_activity: DiseaseActivity | None = None

