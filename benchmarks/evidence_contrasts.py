"""Headline contrasts of the shipped studies under both evidence sets (issue 12's note).

For each study scenario, run every arm under ``evidence: programme_rates`` (each drug's own
integrated-programme rate: the behaviour before the evidence model) and ``relative_effects``
(baseline on csDMARD × relative effects, the default), same seed and patients, and print
serious-infection and herpes-zoster rates per 100 PY and events averted per 1,000 patients
against the reference arm. Usage::

    python benchmarks/evidence_contrasts.py [--n-patients 50000] > benchmarks/results/evidence_contrasts.md
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from jaksim import api
from jaksim.run.engine import read_dataset

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("ra_jak_inhibitors_vs_adalimumab", "ra_tofacitinib_dose_and_taper", "ra_tofacitinib_zoster_vaccination",
           "ra_tofacitinib_zoster_vaccination_us", "ra_tofacitinib_zoster_vaccine_timing")
TYPES = ("serious_infection", "herpes_zoster")


def rows(name: str, n: int) -> list[str]:
    out = []
    sc = api.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    tmp = Path(tempfile.mkdtemp())
    results = {ev: api.run(sc.with_overrides(evidence=ev), n_patients=n, out=tmp / ev)
               for ev in ("programme_rates", "relative_effects")}
    contrasts = {ev: read_dataset(tmp / ev, "contrasts").to_pylist() for ev in results}
    ref = sc.arms[0].name
    for arm in sc.arms:
        cells = []
        for t in TYPES:
            for ev in ("programme_rates", "relative_effects"):
                s = results[ev].summary.to_pylist()
                r = next(x for x in s if x["arm"] == arm.name and x["type"] == t)
                cells.append(f"{r['incidence_rate_per_100py']:.2f}")
        for t in TYPES:
            for ev in ("programme_rates", "relative_effects"):
                if arm.name == ref:
                    cells.append("ref")
                    continue
                c = next(x for x in contrasts[ev] if x["arm"] == arm.name and x["outcome"] == t)
                cells.append(f"{c['averted_per_1000_patients']:.1f} ({c['averted_per_1000_patients_ci_lower']:.1f} "
                             f"to {c['averted_per_1000_patients_ci_upper']:.1f})")
        out.append(f"| {name} | {arm.name} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-patients", type=int, default=50_000)
    a = ap.parse_args()
    print(f"{a.n_patients:,} patients per arm, each study's own seed and horizon; before = programme_rates, "
          "after = relative_effects (default). Averted per 1,000 patients versus the study's first arm "
          "(negative: more events), paired 95% CI.\n")
    print("| study | arm | SI /100PY before | SI after | HZ /100PY before | HZ after | SI averted before | "
          "SI averted after | HZ averted before | HZ averted after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in STUDIES:
        for r in rows(name, a.n_patients):
            print(r)


if __name__ == "__main__":
    main()
