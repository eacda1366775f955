"""Scenario files: validated, frozen configuration objects with line-numbered errors.

A scenario is YAML with the sections ``name``, ``seed``, ``n_patients``, ``horizon_years``,
``cohort``, ``treatment``, ``infections``, ``mortality`` and ``arms``. Arms are named
overrides of ``treatment``, ``infections`` and ``mortality``; every arm simulates the same
patients. This module knows nothing of numba or the parameter library's numbers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag,
                      ValidationError, field_validator, model_validator)

from jaksim.errors import ScenarioError
from jaksim.yamlfile import Lines, load_yaml_file, load_yaml_text

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                            description="letters, digits, '_', '.', '-'; at most 64 characters")]
Probability = Annotated[float, Field(ge=0.0, le=1.0, description="probability in [0, 1]")]
HazardRatio = Annotated[float, Field(gt=0.0, le=1000.0, description="hazard ratio, > 0")]
Indication = Literal["ra", "uc", "psa", "ad"]
GlucocorticoidBand = Literal["none", "below_7_5mg", "at_least_7_5mg"]
GLUCOCORTICOID_BANDS: tuple[str, ...] = ("none", "below_7_5mg", "at_least_7_5mg")
INDICATIONS: tuple[str, ...] = ("ra", "uc", "psa", "ad")
#: Binary patient covariates that carry a hazard ratio, in kernel column order.
BINARY_COVARIATES: tuple[str, ...] = ("female", "asia", "prior_zoster", "diabetes", "zoster_vaccinated")


class Model(BaseModel):
    """Frozen, closed configuration object: unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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
            raise ValueError(f"min_years ({self.min_years}) must be below max_years ({self.max_years})")
        return self


class AgeBand(Model):
    """Share of patients with age uniform in [min_years, max_years)."""

    min_years: float = Field(ge=0, le=120)
    max_years: float = Field(gt=0, le=120)
    share: Probability

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_years >= self.max_years:
            raise ValueError(f"min_years ({self.min_years}) must be below max_years ({self.max_years})")
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


AgeDistribution = Annotated[Union[TruncatedNormalAge, AgeBands], Field(discriminator="distribution")]


class GlucocorticoidShares(Model):
    """Share of patients in each glucocorticoid band (mg/day prednisone-equivalent)."""

    below_7_5mg: Probability = 0.0
    at_least_7_5mg: Probability = 0.0

    @model_validator(mode="after")
    def _sum(self):
        if self.below_7_5mg + self.at_least_7_5mg > 1.0 + 1e-12:
            raise ValueError("below_7_5mg + at_least_7_5mg must not exceed 1 "
                             f"(got {self.below_7_5mg + self.at_least_7_5mg:g})")
        return self


class GlucocorticoidFromAge(GlucocorticoidShares):
    """Band shares that apply from ``from_age_years`` on (overriding younger entries)."""

    from_age_years: float = Field(ge=0, le=120)


class Glucocorticoid(GlucocorticoidShares):
    """Glucocorticoid band prevalence, optionally different from given ages on."""

    by_age: list[GlucocorticoidFromAge] = []


class SyntheticCohort(Model):
    """Patient characteristics drawn from distributions (one row per patient)."""

    age: AgeDistribution
    age_advances: bool = Field(True, description="age (and age-dependent hazards) advance during follow-up")
    female: Probability
    asia: Probability = 0.0
    indication: Union[Indication, dict[Indication, Probability]] = "ra"
    glucocorticoid: Glucocorticoid = Glucocorticoid()
    prior_zoster: Probability = 0.0
    diabetes: Probability = 0.0
    zoster_vaccinated: Probability = 0.0

    @field_validator("indication")
    @classmethod
    def _shares(cls, v):
        if isinstance(v, dict):
            total = sum(v.values())
            if not v or abs(total - 1.0) > 1e-9:
                raise ValueError(f"indication shares add up to {total:g}; they must add up to 1")
        return v


class FileCohort(Model):
    """Patients resampled with replacement from a user's CSV or Parquet table."""

    from_file: str = Field(min_length=1, description="path to .csv or .parquet, relative to the scenario file")
    age_advances: bool = True


Cohort = Annotated[
    Union[Annotated[SyntheticCohort, Tag("synthetic")], Annotated[FileCohort, Tag("file")]],
    Discriminator(lambda v: "file" if (isinstance(v, dict) and "from_file" in v)
                  or isinstance(v, FileCohort) else "synthetic"),
]


# -------------------------------------------------------------------------- treatment
class GlucocorticoidTaper(Model):
    """From ``at_weeks`` after treatment start, nobody is above ``max_band``."""

    at_weeks: float = Field(ge=0, le=5200)
    max_band: GlucocorticoidBand


class Treatment(Model):
    """The drug and dose every patient of an arm starts at t = 0."""

    drug: str = Field(min_length=1)
    dose_mg: float = Field(ge=0, description="dose per administration, mg")
    discontinuation_rate_per_100py: float | None = Field(None, ge=0, le=10000,
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
    glucocorticoid_below_7_5mg: HazardRatio | None = None
    glucocorticoid_7_5mg_or_more: HazardRatio | None = None
    female: HazardRatio | None = None
    asia: HazardRatio | None = None
    prior_zoster: HazardRatio | None = None
    diabetes: HazardRatio | None = None
    zoster_vaccinated: HazardRatio | None = None


class TimeOnTreatmentStep(Model):
    """Hazard multiplier on treatment from the previous step's end until ``until_years``."""

    until_years: float = Field(gt=0, le=100)
    hazard_ratio: HazardRatio


class Infection(Model):
    """One infection type: its rate for the reference patient, modifiers and consequences."""

    rate_per_100py: float | None = Field(None, ge=0, le=100000,
                                         description="events per 100 patient-years; default from library")
    recurrent: bool = True
    hazard_ratios: HazardRatios = HazardRatios()
    time_on_treatment: list[TimeOnTreatmentStep] = []
    off_treatment_hazard_ratio: HazardRatio | None = None
    hospitalisation_probability: Probability | None = None
    serious_probability: Probability | None = None
    discontinuation_probability: Probability | None = None

    @field_validator("time_on_treatment")
    @classmethod
    def _increasing(cls, steps):
        ends = [s.until_years for s in steps]
        if ends != sorted(set(ends)):
            raise ValueError(f"until_years must strictly increase (got {ends})")
        return steps


# -------------------------------------------------------------------------- mortality
class Mortality(Model):
    """Background mortality (life table by age and sex, or a constant rate) and case fatality."""

    life_table: str | None = Field(None, description="library table name or path to a CSV age,male_qx,female_qx")
    rate_per_100py: float | None = Field(None, ge=0, le=10000, description="constant background death rate")
    excess_mortality_ratio: float | None = Field(None, gt=0, le=100,
                                                 description="multiplies life-table hazards (e.g. RA SMR)")
    case_fatality: dict[Name, Probability] = {}

    @model_validator(mode="after")
    def _one_source(self):
        if self.life_table is not None and self.rate_per_100py is not None:
            raise ValueError("give either life_table or rate_per_100py, not both")
        if self.rate_per_100py is not None and self.excess_mortality_ratio is not None:
            raise ValueError("excess_mortality_ratio applies to a life_table, not to rate_per_100py")
        return self


# -------------------------------------------------------------------------- scenario
ARM_KEYS = ("description", "treatment", "infections", "mortality")


class Arm(Model):
    """One fully resolved arm: the base scenario with the arm's overrides applied."""

    name: Name
    description: str = ""
    treatment: Treatment
    infections: dict[Name, Infection] = Field(min_length=1)
    mortality: Mortality = Mortality()

    @model_validator(mode="after")
    def _case_fatality_types(self):
        unknown = sorted(set(self.mortality.case_fatality) - set(self.infections))
        if unknown:
            raise ValueError(f"case_fatality names infection type(s) not simulated: {', '.join(unknown)}; "
                             f"allowed: {', '.join(self.infections)}")
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

    _source: Any = PrivateAttr(default=None)

    @field_validator("arms")
    @classmethod
    def _unique(cls, arms):
        names = [a.name for a in arms]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"arm names must be unique (repeated: {', '.join(sorted(dup))})")
        types = [tuple(a.infections) for a in arms]
        if len(set(map(frozenset, types))) > 1:
            raise ValueError("every arm must simulate the same infection types "
                             "(add the type to the base 'infections' section instead)")
        return arms

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
        """A ScenarioError pointing at ``path`` in the source file."""
        return ScenarioError(message, file=self.source_file, line=self.line_of(path),
                             path=".".join(map(str, path)))

    def with_overrides(self, **overrides) -> "Scenario":
        """A re-validated copy with top-level fields replaced (``n_patients``, ``seed``…)."""
        data = self.model_dump(mode="python")
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in ("n_patients", "seed", "horizon_years", "name"):
                raise ScenarioError(f"cannot override '{key}'; allowed: n_patients, seed, horizon_years, name")
            data[key] = value
        try:
            new = Scenario.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ScenarioError(_describe(err, Scenario), path=".".join(map(str, err["loc"]))) from None
        new._source = self._source
        return new


class _Source:
    """Where a scenario came from: file name, text and line numbers of its keys."""

    def __init__(self, file: str | None, text: str, lines: Lines, arm_paths: dict[str, tuple]):
        self.file, self.text, self.lines, self.arm_paths = file, text, lines, arm_paths

    def line_of(self, path: tuple) -> int | None:
        path = tuple(path)
        # arms are stored resolved: map arms.<i>.<key> to where the key was written.
        if len(path) >= 2 and path[0] == "arms" and isinstance(path[1], int):
            arm = list(self.arm_paths.values())[path[1]] if path[1] < len(self.arm_paths) else None
            rest = path[2:]
            candidates = ([arm + rest] if arm else []) + [rest]
        else:
            candidates = [path]
        for cand in candidates:
            for n in range(len(cand), 0, -1):
                if cand[:n] in self.lines:
                    if n == len(cand) or cand is candidates[-1]:
                        return self.lines[cand[:n]]
                    break
        return self.lines.get(candidates[-1][:1]) if candidates[-1] else None


# ------------------------------------------------------------------------ loading
def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that a location's last key belongs to (best effort)."""
    for key in loc[:-1]:
        if model is None:
            return None
        if isinstance(key, int) or key in ("synthetic", "file", "truncated_normal", "bands"):
            if key == "file":
                model = FileCohort
            elif key == "synthetic":
                model = SyntheticCohort
            elif key == "truncated_normal":
                model = TruncatedNormalAge
            elif key == "bands":
                model = AgeBands if model is not AgeBands else model
            continue
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            if model is Arm and key in ("infections",):
                model = Infection
            continue
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation) -> type[BaseModel] | None:
    import typing
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        m = _inner_model(arg)
        if m is not None:
            return m
    return None


def _describe(err: dict, root: type[BaseModel]) -> str:
    """One readable sentence for a pydantic error: what is wrong, the value, what is allowed."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(root, loc)
        allowed = ", ".join(model.model_fields) if model else "see the documentation"
        return f"unknown key '{loc[-1]}'; allowed keys here: {allowed}"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (f"{ctx.get('discriminator', 'tag').strip(chr(39))} must be one of "
                f"{ctx.get('expected_tags')} (got {ctx.get('tag')!r})")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif kind == "literal_error":
        msg = msg.replace("Input should be", "must be")
    elif kind == "string_pattern_mismatch":
        msg = "must use only letters, digits, '_', '.', '-' (at most 64 characters)"
    else:
        msg = msg.replace("Input should be", "must be")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return f"{msg} (got {shown})"


def scenario_from_data(data: Any, *, file: str | None = None, text: str = "",
                       lines: Lines | None = None) -> Scenario:
    """Validate parsed YAML data into a Scenario, turning every problem into a ScenarioError."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a YAML mapping with keys name, seed, n_patients, "
                            "horizon_years, cohort, treatment, infections, mortality, arms",
                            file=file, line=1)
    raw_arms = data.get("arms", None)
    base = {k: v for k, v in data.items() if k != "arms"}
    arm_paths: dict[str, tuple] = {}
    arms: list[dict] = []
    if raw_arms is None:
        arms.append({"name": "base", **{k: base[k] for k in ARM_KEYS if k in base}})
        arm_paths["base"] = ()
    elif not isinstance(raw_arms, dict) or not raw_arms:
        raise ScenarioError("arms must be a mapping of arm name to overrides "
                            "(e.g. 'arms: {tofa5: {}, tofa10: {treatment: {dose_mg: 10}}}')",
                            file=file, line=lines.get(("arms",)), path="arms")
    else:
        for arm_name, override in raw_arms.items():
            override = {} if override is None else override
            if not isinstance(override, dict):
                raise ScenarioError(f"arm '{arm_name}' must be a mapping of overrides (got {override!r})",
                                    file=file, line=lines.get(("arms", arm_name)), path=f"arms.{arm_name}")
            bad = sorted(set(override) - set(ARM_KEYS))
            if bad:
                raise ScenarioError(f"unknown key '{bad[0]}' in an arm; an arm may override: "
                                    f"{', '.join(ARM_KEYS)} (every arm simulates the same patients)",
                                    file=file, line=lines.get(("arms", arm_name, bad[0])),
                                    path=f"arms.{arm_name}.{bad[0]}")
            merged = {k: base[k] for k in ARM_KEYS if k in base}
            merged = _deep_merge(merged, override)
            arms.append({"name": str(arm_name), **merged})
            arm_paths[str(arm_name)] = ("arms", arm_name)
    top = {k: v for k, v in base.items() if k not in ARM_KEYS}
    top["arms"] = arms
    source = _Source(file, text, lines, arm_paths)
    try:
        scenario = Scenario.model_validate(top)
    except ValidationError as exc:
        err = exc.errors()[0]
        # a tag in the middle of a location is not a key the user wrote
        loc = tuple(k for i, k in enumerate(err["loc"])
                    if not (k in ("synthetic", "file", "truncated_normal", "bands") and i < len(err["loc"]) - 1
                            and isinstance(err["loc"][i - 1], str)
                            and err["loc"][i - 1] in ("cohort", "age")))
        message = _describe({**err, "loc": loc}, Scenario)
        user_path = loc
        if len(loc) >= 2 and loc[0] == "arms" and isinstance(loc[1], int):
            arm_name = list(arm_paths)[loc[1]]
            own = arm_paths[arm_name]
            written = own + loc[2:]
            in_arm = bool(own) and any(written[:n] in lines for n in range(len(own) + 1, len(written) + 1))
            user_path = written if in_arm else loc[2:]
            if len(loc) == 2 or loc[2] == "name":
                user_path = ("arms", arm_name) if own else ()
        line = source.line_of(("arms", loc[1]) + tuple(loc[2:])) if loc[:1] == ("arms",) and len(loc) > 1 \
            else source.line_of(loc)
        raise ScenarioError(message, file=file, line=line,
                            path=".".join(map(str, user_path)) or None) from None
    scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (structure and value ranges).

    Library look-ups (drug, dose, default rates) are checked when the model is built;
    ``jaksim.api.load_scenario`` does both.
    """
    data, lines, text = load_yaml_file(path)
    return scenario_from_data(data, file=str(path), text=text, lines=lines)


def scenario_from_text(text: str, file: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML text (tests, notebooks)."""
    data, lines = load_yaml_text(text, file)
    return scenario_from_data(data, file=file, text=text, lines=lines)
