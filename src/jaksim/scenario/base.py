"""The base of every scenario object: frozen, closed, located errors, YAML meaning what it says.

``Model`` is the pydantic base class of the scenario schema (``schema.py``), with the value
types shared by its sections (``Name``, ``Probability``, ``HazardRatio``); ``ValueErrorAt``
lets a validator point its error at a key below the object; ``normal_mass`` checks that a
truncated normal has mass in its window without importing scipy (``jaksim validate`` stays fast).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                            description="letters, digits, '_', '.', '-'; at most 64 characters")]
Probability = Annotated[float, Field(ge=0.0, le=1.0, description="probability in [0, 1]")]
#: hazard ratios a scenario may give: from 1/1000 to 100 (issue 17, finding 6: 1000 or 1e-300 made a
#: run grow without bound; the largest published infection hazard ratios are about 20)
MIN_HAZARD_RATIO, MAX_HAZARD_RATIO = 1e-3, 100.0
HazardRatio = Annotated[float, Field(ge=MIN_HAZARD_RATIO, le=MAX_HAZARD_RATIO,
                                     description="hazard ratio, from 0.001 to 100")]
#: most events per 100 patient-years a scenario may give (10 a year: beyond any infection or death rate)
MAX_RATE_PER_100PY = 1000.0


class ValueErrorAt(ValueError):
    """A validation problem located at a key below the object that found it.

    ``at`` is the key path relative to the validated object; the error message then points
    at that key (file line and key path) instead of the enclosing mapping.
    """

    def __init__(self, message: str, at: tuple = ()):
        super().__init__(message)
        self.at = tuple(at)


def _allows_bool(annotation: Any) -> bool:
    """Whether a field's type admits a bool (``bool`` itself, or a union holding it)."""
    return annotation is bool or any(_allows_bool(a) for a in get_args(annotation) if not isinstance(a, str))


class Model(BaseModel):
    """Frozen, closed configuration object: unknown keys are errors."""

    # defer_build: a model's validator is built when first used, as part of the file's, not
    # once per class at import (about half of this module's import time; issue 11)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        """``true``/``false`` only where a yes/no is asked: pydantic would read ``n_patients: true``
        as 1 patient and ``horizon_years: false`` as 0 years (issue 17, finding 3)."""
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and not _allows_bool(field.annotation):
                    raise ValueErrorAt(f"{str(value).lower()} is not allowed here: true/false answer yes/no "
                                       "questions only; give a value of the key's type", at=(name,))
        return data


def normal_mass(mean: float, sd: float, lo: float, hi: float) -> float:
    """P(lo <= X <= hi) for X ~ Normal(mean, sd), from the nearer tail (no cancellation)."""
    a, b = (lo - mean) / sd, (hi - mean) / sd
    if a > 0:                                   # both bounds above the mean: upper tails
        return 0.5 * (math.erfc(a / math.sqrt(2)) - math.erfc(b / math.sqrt(2)))
    return 0.5 * (math.erfc(-b / math.sqrt(2)) - math.erfc(-a / math.sqrt(2)))
