"""Disease activity on treatment: when a patient's disease is controlled, and what that does to
the infection hazards.

A responder (``u_response`` < response probability, the same uniform in every arm) has
controlled disease over [start + onset, start + onset + L), L ~ Exp(loss of response) from
``u_loss``, cut at treatment stop and exit; everyone else, and everyone before that interval
(waiting for treatment, the onset) or after it, has uncontrolled disease. The economics charge a
utility decrement for uncontrolled time (``economics.costs_qalys.uncontrolled_time``); the
kernel multiplies each infection type's hazard by m_u while uncontrolled and m_c = m_u / h
while controlled (h: the type's hazard ratio uncontrolled vs controlled). The pair is
normalised so that an arm whose patients all start at once has the library's rate on average
over the horizon T: with s = r (1 − e^{−λ(T − τ)}) / (λ T) the expected controlled share of
[0, T] (r response probability, τ onset, λ loss rate; treatment stops not counted),
m_u = 1 / (1 − s + s / h). Waiting, withholding or losing control then raise the rate above
the library's, and a better response lowers it. The change points start + onset and the end of
control are exact change points of the kernel (no approximation).
"""

from __future__ import annotations

import math

import numpy as np


def controlled_interval(response_probability: float, onset_years: float, loss_per_year: float,
                        treatment_start: np.ndarray, u_response: np.ndarray,
                        u_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(begin, end) of controlled disease per patient in years (+inf, +inf for a non-responder),
    before cutting at the treatment stop and exit."""
    begin = treatment_start + onset_years
    if loss_per_year > 0:
        end = begin - np.log(u_loss) / loss_per_year
    else:
        end = np.full_like(begin, np.inf)
    responder = u_response < response_probability
    return np.where(responder, begin, np.inf), np.where(responder, end, np.inf)


def controlled_share(response_probability: float, onset_years: float, loss_per_year: float,
                     horizon_years: float) -> float:
    """Expected share of [0, T] in controlled disease for a patient starting treatment at 0."""
    span = horizon_years - onset_years
    if span <= 0:
        return 0.0
    mean_controlled = span if loss_per_year == 0 else -math.expm1(-loss_per_year * span) / loss_per_year
    return response_probability * mean_controlled / horizon_years


def activity_multipliers(hazard_ratio_uncontrolled: np.ndarray, share_controlled: float) -> np.ndarray:
    """(2, K): each type's hazard multiplier while uncontrolled (row 0) and controlled (row 1),
    normalised to mean 1 over a controlled share ``share_controlled`` of the time."""
    h = np.asarray(hazard_ratio_uncontrolled, dtype=np.float64)
    m_u = 1.0 / (1.0 - share_controlled + share_controlled / h)
    return np.vstack([m_u, m_u / h])
