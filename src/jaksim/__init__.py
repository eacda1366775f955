"""jaksim: exact, reproducible simulation of infection risk on JAK inhibitors.

Notebook use::

    import jaksim
    scenario = jaksim.load_scenario("scenarios/ra_tofacitinib_5mg.yaml")
    result = jaksim.run(scenario, n_patients=10_000)
    result.summary.to_pandas()
"""

__version__ = "0.1.0"

from jaksim.api import load_scenario, run  # noqa: E402

__all__ = ["load_scenario", "run", "__version__"]
