# %% [markdown]
# # jaksim from Python: a zoster-vaccination study in a few cells
#
# Run cell by cell in VS Code or Jupyter (``# %%`` cells), or as a script:
# ``python docs/example.py`` (``JAKSIM_EXAMPLE_PATIENTS`` sets the cohort size; the test uses 500).
# Every number comes from the scenario file and the parameter library, each with its source
# (``jaksim params``); the outputs are Parquet tables that pandas, polars, DuckDB and R read.

# %%
import os
import tempfile
from pathlib import Path

import jaksim

ROOT = Path(__file__).resolve().parents[1]
N = int(os.environ.get("JAKSIM_EXAMPLE_PATIENTS", "20000"))
OUT = Path(tempfile.mkdtemp(prefix="jaksim-example-"))

scenario = jaksim.load_scenario(ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml")
print(scenario.name, [a.name for a in scenario.arms])

# %% [markdown]
# ## Simulate every arm (same patients, common random numbers) and look at the tables

# %%
result = jaksim.run(scenario, n_patients=N, out=OUT / "run")
summary = result.summary.to_pandas()
print(summary[summary.type == "herpes_zoster"][["arm", "events", "person_years", "incidence_rate_per_100py"]])
contrasts = result.contrasts.to_pandas()
print(contrasts[contrasts.outcome == "herpes_zoster"][["arm", "averted_per_1000_patients",
                                                        "number_needed_to_vaccinate"]])
print(result.economics.to_pandas()[["arm", "mean_costs", "mean_qalys", "incremental_costs", "incremental_qalys"]])

# %% [markdown]
# ## A small probabilistic sensitivity analysis, and the report to attach

# %%
psa = jaksim.psa(scenario, draws=3, n_patients=max(N // 10, 200), out=OUT / "psa")
print(psa.summary.to_pandas().head())
html = jaksim.report(OUT / "run")
print("report:", html)

# %% [markdown]
# ## Spreadsheet copies for a reviewer

# %%
for path in jaksim.export(OUT / "run", format="csv"):
    print(path)
