"""jaksim: exact, reproducible simulation of infection risk on JAK inhibitors.

Notebook use::

    import jaksim
    scenario = jaksim.load_scenario("scenarios/ra_tofacitinib_5mg.yaml")
    result = jaksim.run(scenario, n_patients=10_000)
    result.summary.to_pandas()

``import jaksim`` is cheap: the public functions are loaded from :mod:`jaksim.api` on first
use (module ``__getattr__``), so numba, pyarrow and scipy are imported only by code that
simulates or writes results, not by ``import jaksim``, ``jaksim --help`` or ``jaksim validate``.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

#: The package's only version string (``pyproject.toml`` reads it from here).
__version__ = "0.1.0"

__all__ = ["__version__", "export", "load_scenario", "psa", "report", "run"]

_API = ("load_scenario", "run", "psa", "export", "report")

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs only
    from jaksim.api import export, load_scenario, psa, report, run


def __getattr__(name: str) -> Any:
    """Load the public functions (``_API``) from :mod:`jaksim.api` on first use (PEP 562)."""
    if name in _API:
        from jaksim import api
        return getattr(api, name)
    raise AttributeError(f"module 'jaksim' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The ``jaksim`` module, where ``jaksim.run`` stays the function ``api.run``.

    Importing the subpackage ``jaksim.run`` makes Python set the package attribute ``run`` to
    that module; the function must win (as when this file imported the API eagerly). The
    subpackage is still imported as usual (``from jaksim.run import engine``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
