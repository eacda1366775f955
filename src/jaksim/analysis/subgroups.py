"""Results by subgroup of a baseline characteristic, from one run's patient table.

Every arm simulates the same patients (same ids, same characteristics, common random numbers),
so an arm's difference from the reference arm is a mean of paired per-patient differences within
the subgroup, with its standard error from their spread (95% CI ± 1.96 SE, Monte Carlo). Per
subgroup and arm: patients, events per 1,000 patients by type and averted against the reference,
and, with economics, mean costs, QALYs, incremental values and net monetary benefit at a
willingness to pay — the arm with the highest net benefit answers "vaccinate whom?".
Characteristics: ``age`` (bands of baseline age), ``glucocorticoid_band``, ``indication``,
``region`` and the binary covariates (``female``, ``asia``, ``prior_zoster``, ``diabetes``,
``zoster_vaccinated``, ``chronic_lung_disease``, ``concomitant_csdmard``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from jaksim.errors import JaksimError

Z95 = 1.959963984540054
BINARY = ("female", "asia", "prior_zoster", "diabetes", "zoster_vaccinated", "chronic_lung_disease",
          "concomitant_csdmard")
CATEGORICAL = ("glucocorticoid_band", "indication", "region")


def _read(folder: Path, arm: str) -> pa.Table:
    import pyarrow.dataset as ds
    path = folder / "patients" / f"arm={arm}"
    if not path.is_dir():
        raise JaksimError(f"'{folder}' has no patient table for arm '{arm}' (a jaksim run folder is needed)")
    return ds.dataset(path, format="parquet").to_table().sort_by("patient_id")


def _groups(t: pa.Table, by: str, age_bands: list[float]) -> tuple[np.ndarray, list[str]]:
    if by == "age":
        edges = sorted(age_bands)
        age = t.column("age_years").to_numpy()
        idx = np.searchsorted(edges, age, side="right")
        labels = [f"<{edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:], strict=False)] + \
                 [f">={edges[-1]:g}"]
        return idx, labels
    if by in BINARY:
        return t.column(by).to_numpy(zero_copy_only=False).astype(int), ["no", "yes"]
    if by in CATEGORICAL:
        values = [str(v) for v in t.column(by).to_pylist()]
        labels = sorted(set(values))
        return np.array([labels.index(v) for v in values]), labels
    raise JaksimError(f"--by '{by}' is not a baseline characteristic; allowed: age, "
                      f"{', '.join(CATEGORICAL + BINARY)}")


def subgroup_table(folder: Path, by: str, wtp: float, age_bands: list[float] | None = None) -> pa.Table:
    """One row per subgroup and arm (see the module docstring)."""
    import json
    manifest = json.loads((folder / "jaksim.json").read_text())
    arms = list(manifest["arms"])
    tables = {a: _read(folder, a) for a in arms}
    ref = tables[arms[0]]
    ids = ref.column("patient_id").to_numpy()
    if any(not np.array_equal(t.column("patient_id").to_numpy(), ids) for t in tables.values()):
        raise JaksimError("the arms' patient tables hold different patients; subgroups need one run folder")
    group, labels = _groups(ref, by, age_bands or [50, 65, 75])
    types = [c[: -len("_events")] for c in ref.column_names if c.endswith("_events")]
    econ = "costs" in ref.column_names
    rows = []
    for g, label in enumerate(labels):
        sel = group == g
        n = int(sel.sum())
        if n == 0:
            continue
        for a in arms:
            t = tables[a]
            row: dict = {"characteristic": by, "subgroup": label, "arm": a, "reference_arm": arms[0], "n_patients": n}
            for k in types:
                ev = t.column(f"{k}_events").to_numpy()[sel].astype(float)
                d = ref.column(f"{k}_events").to_numpy()[sel].astype(float) - ev
                row[f"{k}_per_1000"] = 1000.0 * ev.mean()
                row[f"{k}_averted_per_1000"] = 1000.0 * d.mean()
                row[f"{k}_averted_per_1000_se"] = 1000.0 * (d.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0)
            if econ:
                c, q = t.column("costs").to_numpy()[sel], t.column("qalys").to_numpy()[sel]
                dc = c - ref.column("costs").to_numpy()[sel]
                dq = q - ref.column("qalys").to_numpy()[sel]
                dn = wtp * dq - dc
                se = dn.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0
                row.update(mean_costs=c.mean(), mean_qalys=q.mean(), incremental_costs=dc.mean(),
                           incremental_qalys=dq.mean(), willingness_to_pay=wtp, net_benefit=(wtp * q - c).mean(),
                           incremental_net_benefit=dn.mean(), incremental_net_benefit_ci_lower=dn.mean() - Z95 * se,
                           incremental_net_benefit_ci_upper=dn.mean() + Z95 * se)
            rows.append(row)
    if econ:
        for label in labels:
            mine = [r for r in rows if r["subgroup"] == label]
            if mine:
                best = max(mine, key=lambda r: r["net_benefit"])["arm"]
                for r in mine:
                    r["optimal"] = r["arm"] == best
    return pa.Table.from_pylist(rows)
