"""Is the evidence network consistent? Leave one trial out and predict it from the others.

For every trial that gives input relative effects, all of its effects are removed; each of
its contrasts (treatment vs comparator, one infection type) is then predicted by the same
network meta-analysis the model uses (``network.py``) from what remains, and compared with
the trial's own estimate: is the prediction inside the trial's 95% CI? Nothing is fitted to
make a prediction fall inside: these are out-of-sample checks. A contrast that the rest of
the network does not reach has no prediction (reported as such).
"""

from __future__ import annotations

import math

from jaksim.library.uncertainty import Z95
from jaksim.model import evidence as ev
from jaksim.model.network import estimate


def _inputs(evidence: dict) -> list[dict]:
    return [e for e in evidence.get("relative_effects", []) if e.get("role", "input") == "input"]


def leave_one_trial_out(evidence: dict, drugs: dict[str, dict]) -> list[dict]:
    """One row per contrast of each trial: its estimate and CI, the prediction without the trial."""
    rows = []
    trials = sorted({str(e["trial"]) for e in _inputs(evidence) if e.get("trial") and e["randomised"]})
    for trial in trials:
        rest = {**evidence, "relative_effects": [e for e in evidence["relative_effects"] if e.get("trial") != trial]}
        for e in _inputs(evidence):
            if e.get("trial") != trial or ev.log_se(e) is None or e.get("type") is None:
                continue
            a = ev.expand(ev.node(e["treatment"]), drugs)[0]
            b = ev.expand(ev.node(e["comparator"]), drugs)[0]
            est = estimate(ev.entries_for(rest, e["type"], e.get("indication")), drugs,
                           rest["reference_treatment"], tuple(rest.get("class_effects", [])))
            c = est.contrast(a, b)
            row = {"trial": trial, "effect": e["id"], "type": e["type"], "indication": e.get("indication"),
                   "treatment": ev.label(a), "comparator": ev.label(b), "ratio": e["ratio"], "ci95": e["ci95"],
                   "predicted": None, "predicted_ci95": None, "inside": None, "how": None}
            if c is not None and est.ids.find(a)[0] != est.ids.find(b)[0]:
                se = math.sqrt(c[1])
                ra, rb = est.ids.find(a)[0], est.ids.find(b)[0]
                how = sorted({est.how[ra], est.how[rb]} - {"reference"}) or ["reference"]
                row.update(predicted=math.exp(c[0]),
                           predicted_ci95=[math.exp(c[0] - Z95 * se), math.exp(c[0] + Z95 * se)],
                           inside=bool(e["ci95"][0] <= math.exp(c[0]) <= e["ci95"][1]), how=", ".join(how))
            rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table (out of sample: each trial predicted without itself)."""
    out = ["| trial | type | contrast | trial estimate (95% CI) | predicted without the trial (95% CI) | "
           "inside | prediction from |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        pred = ("not reached without this trial" if r["predicted"] is None else
                f"{r['predicted']:.2f} ({r['predicted_ci95'][0]:.2f}–{r['predicted_ci95'][1]:.2f})")
        inside = "–" if r["inside"] is None else ("yes" if r["inside"] else "**no**")
        out.append(f"| {r['trial']} | {r['type']} | {r['treatment']} vs {r['comparator']} | "
                   f"{r['ratio']:.2f} ({r['ci95'][0]:.2f}–{r['ci95'][1]:.2f}) | {pred} | {inside} | "
                   f"{r['how'] or '–'} |")
    return "\n".join(out) + "\n"
