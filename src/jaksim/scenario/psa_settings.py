"""Scenario section ``psa``: parameters drawn jointly (a correlation matrix) or from a file of draws."""

from __future__ import annotations

from pydantic import Field, model_validator

from jaksim.scenario.base import Model, ValueErrorAt


class Correlation(Model):
    """Parameters drawn jointly: a Gaussian copula with this correlation matrix (marginals kept)."""

    parameters: list[str] = Field(min_length=2, description="PSA parameter names or scenario key paths")
    correlation: list[list[float]]

    @model_validator(mode="after")
    def _square(self):
        n = len(self.parameters)
        m = self.correlation
        if len(m) != n or any(len(r) != n for r in m):
            raise ValueErrorAt(f"correlation must be a {n} x {n} matrix (one row and column per parameter)",
                               at=("correlation",))
        for i in range(n):
            if m[i][i] != 1 or any(m[i][j] != m[j][i] or not -1 < m[i][j] < 1 for j in range(n) if j != i):
                raise ValueErrorAt("correlation must be symmetric with 1 on the diagonal and values in (-1, 1)",
                                   at=("correlation",))
        return self


class PsaSettings(Model):
    """How the PSA draws: correlated groups, or a file of draws used as given."""

    correlations: list[Correlation] = []
    draws_file: str | None = Field(None, description="CSV or Parquet, one row per draw, columns named by "
                                                     "parameter (path relative to the scenario file)")
