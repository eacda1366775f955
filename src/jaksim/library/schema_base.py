"""Base types of the library schema: statuses, intervals, strict and sourced models, economic values.

Shared by ``schema.py`` and ``pathway_schema.py``. Units: rates per 100 patient-years, ages and
durations in years, shares and probabilities as fractions, costs in the currency's units.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: What a value's number rests on: read in the source, arithmetic on read values, or a choice.
Status = Literal["read", "computed", "assumption"]
STATUSES: tuple[str, ...] = ("read", "computed", "assumption")
#: a 95% confidence interval [low, high] (a bound may be null where the source gives one only)
CI = Annotated[list[float | None], Field(min_length=2, max_length=2)]
Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
#: a hazard or rate ratio from 1/1000 to 100, and a rate of at most 1000 per 100 patient-years:
#: the bounds a scenario has (``scenario.base``), so a user library cannot make a run unbounded
PlausibleRatio = Annotated[float, Field(ge=1e-3, le=100)]
RatePer100PY = Annotated[float, Field(ge=0, le=1000)]


class _Strict(BaseModel):
    """No unknown keys, no type coercion (``"2.8"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)   # built when first used


class _Sourced(_Strict):
    """Where a value comes from: citation, DOI (or null) and status; a free note."""

    citation: str
    doi: str | None = None
    status: Status
    note: str | None = None


class EconomicValue(_Strict):
    """A cost, utility or duration with what the PSA draws for it."""

    value: NonNegative
    ci95: CI | None = None
    distribution: Literal["fixed", "gamma", "beta"] = "fixed"
    status: Status
    citation: str
    doi: str | None = None
    note: str
