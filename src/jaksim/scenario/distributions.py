"""Distributions declared in a scenario file, next to a value, for the PSA.

Any numeric input may be written ``{value: 0.9, distribution: {beta: {mean: 0.9, sd: 0.05}}}``.
The scenario is validated with the value; the distribution is kept aside, keyed by the key
path as written (``arms.rzv_all.vaccination.uptake``), and each PSA draw re-validates the
scenario with the drawn value there. A value without a distribution is fixed (no PSA column).

Families (each by its natural parameters, or by mean and SD, or by a 95% interval):
beta {mean, sd} | {alpha, beta}; gamma {mean, sd} | {shape, scale}; lognormal {meanlog, sdlog}
| {ci95: [lo, hi]}; normal {mean, sd}; uniform {min, max}; triangular {min, mode, max};
fixed {}. Parameters drawn jointly are listed under the scenario's ``psa.correlations``.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from jaksim.errors import ScenarioError
from jaksim.scenario.base import Model

Positive = Annotated[float, Field(gt=0)]


class _Family(Model):
    pass


class Beta(_Family):
    mean: float | None = Field(None, gt=0, lt=1)
    sd: Positive | None = None
    alpha: Positive | None = None
    beta: Positive | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.mean is None) == (self.alpha is None) or (self.mean is None) != (self.sd is None) \
                or (self.alpha is None) != (self.beta is None):
            raise ValueError("give either mean and sd, or alpha and beta")
        if self.mean is not None and self.sd is not None and self.sd ** 2 >= self.mean * (1 - self.mean):
            raise ValueError(f"sd {self.sd:g} is too large for a beta with mean {self.mean:g} "
                             f"(sd² must be below mean·(1 − mean) = {self.mean * (1 - self.mean):g})")
        return self


class Gamma(_Family):
    mean: Positive | None = None
    sd: Positive | None = None
    shape: Positive | None = None
    scale: Positive | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if not ((self.mean is not None and self.sd is not None and self.shape is None and self.scale is None)
                or (self.shape is not None and self.scale is not None and self.mean is None and self.sd is None)):
            raise ValueError("give either mean and sd, or shape and scale")
        return self


class LogNormal(_Family):
    meanlog: float | None = None
    sdlog: Positive | None = None
    ci95: Annotated[list[Positive], Field(min_length=2, max_length=2)] | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.ci95 is None) == (self.meanlog is None) or (self.meanlog is None) != (self.sdlog is None):
            raise ValueError("give either meanlog and sdlog, or ci95: [low, high]")
        if self.ci95 is not None and self.ci95[1] <= self.ci95[0]:
            raise ValueError(f"ci95 must be [low, high] with low < high (got {self.ci95})")
        return self


class Normal(_Family):
    mean: float
    sd: Positive


class Uniform(_Family):
    min: float
    max: float

    @model_validator(mode="after")
    def _order(self):
        if self.max <= self.min:
            raise ValueError(f"max must exceed min (got {self.min:g}, {self.max:g})")
        return self


class Triangular(_Family):
    min: float
    mode: float
    max: float

    @model_validator(mode="after")
    def _order(self):
        if not self.min <= self.mode <= self.max or self.max <= self.min:
            raise ValueError(f"need min ≤ mode ≤ max and min < max (got {self.min:g}, {self.mode:g}, {self.max:g})")
        return self


class Distribution(Model):
    """One family with its parameters, and an optional correlation group."""

    beta: Beta | None = None
    gamma: Gamma | None = None
    lognormal: LogNormal | None = None
    normal: Normal | None = None
    uniform: Uniform | None = None
    triangular: Triangular | None = None
    fixed: dict | None = None

    @model_validator(mode="after")
    def _one_family(self):
        given = [f for f in ("beta", "gamma", "lognormal", "normal", "uniform", "triangular", "fixed")
                 if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one family: beta, gamma, lognormal, normal, uniform, triangular or fixed "
                             f"(got {', '.join(given) or 'none'})")
        return self

    @property
    def family(self) -> str:
        return next(f for f in ("beta", "gamma", "lognormal", "normal", "uniform", "triangular", "fixed")
                    if getattr(self, f) is not None)

    def frozen(self, value: float):
        """The scipy frozen distribution (``fixed``: a point mass at ``value``)."""
        from scipy import stats

        from jaksim.library.uncertainty import Z95, PointMass
        f = self.family
        p = getattr(self, f)
        if f == "beta":
            if p.alpha is not None:
                return stats.beta(p.alpha, p.beta)
            common = p.mean * (1 - p.mean) / p.sd ** 2 - 1
            return stats.beta(p.mean * common, (1 - p.mean) * common)
        if f == "gamma":
            if p.shape is not None:
                return stats.gamma(a=p.shape, scale=p.scale)
            return stats.gamma(a=(p.mean / p.sd) ** 2, scale=p.sd ** 2 / p.mean)
        if f == "lognormal":
            if p.ci95 is not None:
                mu = (math.log(p.ci95[0]) + math.log(p.ci95[1])) / 2
                return stats.lognorm(s=(math.log(p.ci95[1]) - math.log(p.ci95[0])) / (2 * Z95), scale=math.exp(mu))
            return stats.lognorm(s=p.sdlog, scale=math.exp(p.meanlog))
        if f == "normal":
            return stats.norm(p.mean, p.sd)
        if f == "uniform":
            return stats.uniform(p.min, p.max - p.min)
        if f == "triangular":
            return stats.triang((p.mode - p.min) / (p.max - p.min), loc=p.min, scale=p.max - p.min)
        return PointMass(float(value))


def extract(data: Any, lines: dict, file: str | None) -> tuple[Any, dict[tuple, tuple[float, Distribution]]]:
    """The data with every ``{value, distribution}`` replaced by its value (a mapping with other
    keys keeps them, e.g. ``{value, applies_to, distribution}``), and the distributions by key path
    (path of the value: ``…/rate_per_100py/value`` for such a mapping)."""
    found: dict[tuple, tuple[float, Distribution]] = {}

    def walk(node, path):
        if isinstance(node, dict):
            if "distribution" in node and "value" in node:
                try:
                    dist = Distribution.model_validate(node["distribution"])
                except ValidationError as exc:
                    err = exc.errors()[0]
                    loc = path + ("distribution",) + tuple(k for k in err["loc"] if isinstance(k, str))
                    msg = err["msg"].removeprefix("Value error, ")
                    raise ScenarioError(f"{msg}", file=file, line=_line(lines, loc),
                                        path=".".join(map(str, loc))) from None
                value = node["value"]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    at = path + ("value",)
                    raise ScenarioError(f"a value with a distribution must be a number (got {value!r})", file=file,
                                        line=_line(lines, at), path=".".join(map(str, at)))
                rest = {k: v for k, v in node.items() if k != "distribution"}
                if set(rest) == {"value"}:
                    found[path] = (float(value), dist)
                    return value
                found[path + ("value",)] = (float(value), dist)
                return rest
            return {k: walk(v, path + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, path + (i,)) for i, v in enumerate(node)]
        return node
    return walk(copy.deepcopy(data), ()), found


def _line(lines: dict, path: tuple) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def name(path: tuple) -> str:
    """A scenario parameter's name in PSA tables: its key path as written."""
    return ".".join(map(str, path))


Family = Literal["beta", "gamma", "lognormal", "normal", "uniform", "triangular", "fixed"]
