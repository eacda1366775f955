"""Model spec: a validated scenario resolved against the library for simulation.

Holds what every chunk of every arm shares: the cohort source, each arm's resolved hazards
(``ArmSpec``), the infection types, the counter-based stream keys of a PSA draw and each arm's
economics. Built once per run or PSA draw by :func:`build_model`; read only afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from jaksim.codes import PHN, ZOSTER
from jaksim.cohort.patients import CohortSource
from jaksim.economics.costs_qalys import resolve as resolve_economics
from jaksim.errors import JaksimError
from jaksim.kernel.keys import stream_key
from jaksim.library import load_library
from jaksim.model.bounds import check_event_bound
from jaksim.model.hazards import ArmSpec, build_arms
from jaksim.model.vaccination import Schedule
from jaksim.model.warnings import model_warnings
from jaksim.scenario.schema import Scenario


@dataclass(frozen=True)
class Model:
    """A scenario resolved for simulation: cohort source, arm specs and stream keys."""

    scenario: Scenario
    cohort: CohortSource
    arms: tuple[ArmSpec, ...]
    types: tuple[str, ...]
    clock_keys: np.ndarray
    cons_keys: np.ndarray
    death_key: np.uint64
    disc_key: np.uint64
    economics: tuple = ()        # per arm: economics.EconSpec, or () without an economics section
    #: keys of the disease-activity streams (response, loss of response) of this draw
    activity_keys: tuple[np.uint64, np.uint64] = (np.uint64(0), np.uint64(0))
    warnings: tuple[str, ...] = ()   # one-line warnings for the user (``model/warnings.py``)
    #: no_schedule arrays by chunk length, made once per model: filling four fresh arrays for
    #: every chunk cost 0.5 ms each (7.7 ms per 10^6 patients, mostly page faults). Read only.
    _unvaccinated: dict = field(default_factory=dict, repr=False, compare=False)

    def unvaccinated(self, n: int) -> Schedule:
        """``no_schedule(n)``, shared between chunks of the same length (never written)."""
        sched = self._unvaccinated.get(n)
        if sched is None:
            sched = self._unvaccinated[n] = no_schedule(n)
        return sched


def build_model(scenario: Scenario, draw: int = 0, library=None, economics_library: dict | None = None,
                calibrate: bool = True) -> Model:
    """Resolve a validated scenario against the library (raises JaksimError on bad input).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    draw : int
        PSA draw whose event-clock streams the model uses (0: the base case).
    library, economics_library
        Replace the package's libraries (a PSA draw's values); None: the package's own.
    calibrate : bool
        False: library rates are not calibrated to the reference patient; every look-up and
        check is still made, with no scipy or compiled code (``jaksim validate``). Such a
        model is for checking only, never for simulation.

    Returns
    -------
    Model
        The resolved model, shared read-only by every chunk and arm.
    """
    if library is None and scenario.library is None:
        library = load_library()        # the package's (a user library's schema is not needed)
    elif library is None:
        from jaksim.library.user import scenario_library
        library = scenario_library(scenario)
    try:
        cohort = CohortSource(scenario)
    except JaksimError as exc:
        raise scenario.error(("cohort", "from_file"), str(exc).removeprefix("cohort.from_file: ")) from None
    arms = tuple(build_arms(scenario, library, cohort.indications(), calibrate=calibrate, cohort=cohort))
    check_event_bound(scenario, arms, cohort.table)
    types = arms[0].types
    seed = scenario.seed
    model = Model(
        scenario=scenario, cohort=cohort, arms=arms, types=types,
        clock_keys=np.array([stream_key(seed, f"clock/{t}", draw) for t in types], dtype=np.uint64),
        cons_keys=np.array([stream_key(seed, f"consequence/{t}", draw) for t in types], dtype=np.uint64),
        death_key=stream_key(seed, "death/background", draw),
        disc_key=stream_key(seed, "treatment/discontinuation", draw),
        economics=_arm_economics(scenario, types, economics_library),
        activity_keys=(stream_key(seed, "disease_activity/response", draw),
                       stream_key(seed, "disease_activity/loss_of_response", draw)),
    )
    return replace(model, warnings=model_warnings(model, library))


def no_schedule(n: int) -> Schedule:
    """Nobody vaccinated, everybody starts treatment at t = 0 (``n`` patients)."""
    return Schedule(np.full(n, np.inf), np.full(n, np.inf), np.zeros(n), np.zeros(n), np.zeros(n, np.int8))


def outcomes(model: Model) -> tuple[str, ...]:
    """Outcomes counted per patient: the infection types, plus PHN when zoster is simulated."""
    return model.types + ((PHN,) if ZOSTER in model.types else ())


def _arm_economics(scenario: Scenario, types: tuple[str, ...], economics_library: dict | None) -> tuple:
    """Per arm its resolved economics (``economics.EconSpec``), or () without an economics section.

    Arms inherit the base scenario's section, so either every arm has one or the first has none."""
    if scenario.arms[0].economics is None:
        return ()
    out = []
    for a in scenario.arms:
        assert a.economics is not None, "every arm inherits the base scenario's economics section"
        out.append(resolve_economics(a.economics, types, a.vaccination, economics_library, a.treatment,
                                     a.tb_screening, a.vzv_screening))
    return tuple(out)
