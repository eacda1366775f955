"""Relative effects and baseline risks from ``evidence.yaml``, per infection type and indication.

A drug's hazard for infection type k is baseline_k (reference treatment, csDMARD) × RE_k(drug,
dose). RE_k is estimated by a fixed-effect network meta-analysis of the library's relative
effects (``network.py``): randomised comparisons first, non-randomised chains and class
effects only where randomised evidence does not reach, each labelled in the provenance.
Effects of the arm's indication are used first; evidence from every indication only where the
arm's own does not reach the drug (labelled as a transfer). A contrast between two arms is
thus the ratio of their relative effects from the network, never the ratio of two absolute
rates from different sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from jaksim.library.uncertainty import Z95
from jaksim.model.network import Comparison, Estimate, estimate, expand, label, log_se, node

__all__ = ["RelativeEffect", "baseline", "entries_for", "expand", "label", "log_se", "network_estimate", "node",
           "relative_effect"]


def entries_for(evidence: dict, infection_type: str, indication: str | None, roles=("input",)) -> list[dict]:
    """Relative effects of one type (untyped ones apply to every type) for one indication (or
    every indication: None); untyped or unindexed entries apply everywhere."""
    return [e for e in evidence.get("relative_effects", [])
            if e.get("role", "input") in roles and e.get("type") in (infection_type, None)
            and (indication is None or e.get("indication") in (indication, None))]


def network_estimate(evidence: dict, drugs: dict[str, dict], infection_type: str,
                     indication: str | None) -> Estimate:
    """The network meta-analysis of one type in one indication (None: every indication)."""
    return _cached(_Key(evidence), _Key(drugs), infection_type, indication)


class _Key:
    """Hash a (large, read-only) mapping by identity, so estimates are computed once per library."""

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Key) and other.obj is self.obj


@lru_cache(maxsize=64)
def _cached(evidence: _Key, drugs: _Key, infection_type: str, indication: str | None) -> Estimate:
    ev = evidence.obj
    return estimate(entries_for(ev, infection_type, indication), drugs.obj, ev["reference_treatment"],
                    tuple(ev.get("class_effects", [])))


def _comparison_record(c: Comparison, share: float) -> dict:
    se = math.sqrt(c.v)
    return {"treatment": label(c.a), "comparator": label(c.b), "ratio": math.exp(c.y),
            "ci95": [math.exp(c.y - Z95 * se), math.exp(c.y + Z95 * se)], "randomised": c.randomised,
            "share_of_variance": share, "effects": [str(e["id"]) for e in c.entries]}


@dataclass(frozen=True)
class RelativeEffect:
    """RE of an arm's treatment against the reference treatment for one type and indication."""

    ratio: float
    log_variance: float
    how: str                                   # randomised | non-randomised | class | reference
    shares: tuple[tuple[Comparison, float], ...]   # comparisons it rests on, share of its variance
    assumptions: tuple[str, ...]
    transfer: str | None = None                # evidence borrowed from other indications

    @property
    def randomised(self) -> bool:
        return self.how in ("randomised", "reference")

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(c for c, _ in self.shares)

    def effect_ids(self) -> set[str]:
        return {str(e["id"]) for c in self.comparisons for e in c.entries}

    def status(self) -> str:
        """assumption: no evidence, a class effect, or half its variance from assumed entries;
        the entry's own status when one entry carries it all; else computed."""
        assumed = sum(x for c, x in self.shares if any(e.get("status") == "assumption" for e in c.entries))
        if not self.shares or self.how == "class" or assumed >= 0.5:
            return "assumption"
        top, x = self.shares[0]
        return str(top.entries[0].get("status", "read")) if x > 0.99 and len(top.entries) == 1 else "computed"

    def provenance(self) -> dict:
        se = math.sqrt(self.log_variance)
        entries = {str(e["id"]): e for c in self.comparisons for e in c.entries}
        status = self.status()
        method = {"randomised": "fixed-effect network meta-analysis of the randomised comparisons (GLS, log scale)",
                  "non-randomised": "chain of comparisons including non-randomised ones (log ratios and "
                                    "variances added) from the randomised network",
                  "class": "the class's effect (no evidence for this drug and dose)",
                  "reference": "the reference treatment itself"}[self.how]
        rec = {"value": self.ratio, "status": status,
               "ci95": [self.ratio * math.exp(-Z95 * se), self.ratio * math.exp(Z95 * se)] if se else None,
               "randomised": self.randomised, "method": method,
               "comparisons": [_comparison_record(c, x) for c, x in self.shares],
               "effects": [{k: e.get(k) for k in ("id", "trial", "ratio", "ci95", "status", "citation", "doi",
                                                  "library") if e.get(k) is not None} for e in entries.values()]}
        if self.assumptions:
            rec["assumptions"] = list(self.assumptions)
        if self.transfer:
            rec["transfer"] = self.transfer
        return rec


def _from_estimate(est: Estimate, start) -> RelativeEffect | None:
    v = est.value(start)
    if v is None:
        return None
    root = est.ids.find(start)[0]
    shares = tuple(sorted(((c, x) for c, x in est.share.get(root, {}).items() if x >= 1e-4),
                          key=lambda cx: -cx[1]))
    notes = est.ids.notes(start) + est.ids.notes(est.reference) + est.notes.get(root, [])
    return RelativeEffect(math.exp(v[0]), v[1], est.how[root], shares, tuple(dict.fromkeys(notes)))


def relative_effect(evidence: dict, drugs: dict[str, dict], drug: str, dose_mg: float,
                    infection_type: str, indication: str) -> RelativeEffect | None:
    """RE of drug at dose vs the reference treatment (None: the evidence reaches it nowhere)."""
    start = ("drug", drug, float(dose_mg))
    re = _from_estimate(network_estimate(evidence, drugs, infection_type, indication), start)
    if re is not None and re.how != "class":
        return re
    other = _from_estimate(network_estimate(evidence, drugs, infection_type, None), start)
    if other is None or (re is not None and other.how == "class"):
        return re
    used = sorted({str(e.get("indication")) for c in other.comparisons for e in c.entries} - {indication})
    return RelativeEffect(other.ratio, other.log_variance, other.how, other.shares, other.assumptions,
                          f"the {indication} evidence does not reach {label(start)}: evidence from "
                          f"{', '.join(used) or 'every indication'} used (indication transfer)")


def baseline(evidence: dict, indication: str, infection_type: str) -> dict | None:
    """The baseline entry (rate on the reference treatment) of a type in an indication, or None."""
    for b in evidence.get("baselines", []):
        if b["indication"] == indication and b["type"] == infection_type:
            return b
    return None
