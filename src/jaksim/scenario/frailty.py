"""Scenario section ``frailty``: a per-patient gamma frailty per infection type.

    frailty: none                      # the default: every patient of a covariate pattern has one hazard
    frailty: library                   # the library's variance for each type that has one, else none
    frailty:                           # per type; a type not listed has none
      herpes_zoster: {variance: 0.8}   # variance θ of the gamma frailty (mean 1)
      serious_infection: library

The frailty z of patient i and type k multiplies the type's hazard for the whole follow-up;
z ~ Gamma(mean 1, variance θ_k), one per patient and type, the same in every arm (common random
numbers). Frailties of different types are independent. With θ > 0, a patient's events of the
type cluster: over a follow-up t at a constant hazard λ the count is negative binomial (mean λt,
variance λt + θ(λt)²) and the first-event time Lomax (survival (1 + θλt)^(−1/θ)).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from jaksim.scenario.base import Model, ValueErrorAt

#: the upper bound of a frailty variance: a type whose hazard varies more between patients than
#: Gamma(mean 1, variance 10) is beyond the recurrence data this was built for
MAX_FRAILTY_VARIANCE = 10.0


class TypeFrailty(Model):
    """One infection type's gamma frailty."""

    variance: float = Field(ge=0.0, le=MAX_FRAILTY_VARIANCE,
                            description="variance θ of the patient's gamma frailty (mean 1); 0: none")


def _word_or_mapping(value) -> str:
    """Which form a value takes, a word (none / library) or a mapping, so that an error speaks of
    that form only (the tags match ``scenario.load``'s pattern of union members: not user keys)."""
    return "frailty[word]" if isinstance(value, str) else "frailty[mapping]"


Choice = Literal["none", "library"]
#: per type: a variance, the library's value, or none
TypeChoice = Annotated[Annotated[Choice, Tag("frailty[word]")] | Annotated[TypeFrailty, Tag("frailty[mapping]")],
                       Discriminator(_word_or_mapping)]
FrailtySetting = Annotated[Annotated[Choice, Tag("frailty[word]")]
                           | Annotated[dict[str, TypeChoice], Tag("frailty[mapping]")],
                           Discriminator(_word_or_mapping)]


def check_frailty_types(frailty: FrailtySetting, infections: dict) -> None:
    """A per-type frailty must name simulated infection types (else an error at the key)."""
    if isinstance(frailty, dict):
        unknown = [t for t in frailty if t not in infections]
        if unknown:
            raise ValueErrorAt(f"frailty names infection type(s) not simulated: {', '.join(unknown)}; "
                               f"allowed: {', '.join(infections)}", at=("frailty", unknown[0]))


def frailty_choice(frailty: FrailtySetting, infection_type: str) -> TypeChoice:
    """What the scenario says for one type: a TypeFrailty, ``"library"`` or ``"none"``."""
    if isinstance(frailty, str):
        return frailty
    return frailty.get(infection_type, "none")
