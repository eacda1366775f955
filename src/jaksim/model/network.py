"""Fixed-effect network meta-analysis of relative effects (log scale), for one infection type.

Every treatment's log relative effect d against the reference treatment is estimated from all
comparisons at once, as in NICE DSU TSD 2's fixed-effect model: comparisons of the same pair
are pooled (inverse variance), then d minimises Σ_e (y_e − (d_a − d_b))² / v_e over the
comparisons e (generalised least squares; cov(d) = (XᵀWX)⁻¹). Steps, each labelled:

1. *identities* (assumptions, no uncertainty): an effect entered without CI and with status
   ``assumption`` (placebo on background csDMARD = csDMARD) and the members of a class named
   in ``class_effects`` (e.g. TNF inhibitors: adalimumab = etanercept = the class arm of ORAL
   Surveillance) are one node;
2. *randomised network*: the GLS on randomised comparisons, for the treatments they connect
   to the reference;
3. *non-randomised steps*: a treatment not reached by step 2 is linked to an estimated one by
   the least-variance chain of further comparisons (non-randomised, or randomised ones outside
   the network), variances added (covariance with the network ignored);
4. *class fallback*: a drug still without an estimate takes its class's (e.g. JAK inhibitors
   against placebo for a common infection), an assumption; a drug never takes a sibling drug's
   or dose's effect.

Correlation between contrasts of one multi-arm trial is ignored in the GLS (each contrast
enters as independent); the PSA draws them jointly (``run/psa_parameters.py``).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

Node = tuple


def node(t: dict) -> Node:
    """Graph node of a treatment entry: ("class", name) or ("drug", name, dose or None)."""
    if t.get("drug_class") is not None:
        return ("class", t["drug_class"])
    dose = t.get("dose_mg")
    return ("drug", t["drug"], None if dose is None else float(dose))


def label(n: Node) -> str:
    """A node as people write it: ``tofacitinib 5 mg``, ``adalimumab``, ``class tnf_inhibitor``."""
    if n[0] == "class":
        return f"class {n[1]}"
    return n[1] if not n[2] else f"{n[1]} {n[2]:g} mg"


def expand(n: Node, drugs: dict[str, dict]) -> list[Node]:
    """A drug without a dose stands for each of its doses."""
    if n[0] == "drug" and n[2] is None and n[1] in drugs:
        return [("drug", n[1], float(d)) for d in drugs[n[1]]["doses_mg"]]
    return [n]


def log_se(entry: dict, z95: float = 1.959963984540054) -> float | None:
    """Standard error of the log ratio from the 95% CI (None: no CI given)."""
    ci = entry.get("ci95")
    if not ci or ci[0] is None or ci[1] is None or ci[0] <= 0 or ci[1] <= ci[0]:
        return None
    return (math.log(ci[1]) - math.log(ci[0])) / (2.0 * z95)


class _Identities:
    """Union-find of treatments that are one node, with log offsets: d(x) = d(root) + offset(x)."""

    def __init__(self):
        self.parent: dict[Node, tuple[Node, float]] = {}
        self.why: dict[Node, list[str]] = {}

    def find(self, x: Node) -> tuple[Node, float]:
        if x not in self.parent:
            return x, 0.0
        p, off = self.parent[x]
        root, off_p = self.find(p)
        self.parent[x] = (root, off + off_p)
        return root, off + off_p

    def union(self, a: Node, b: Node, log_ratio: float, why: str) -> None:
        """a and b are one node with d(a) = d(b) + log_ratio."""
        ra, oa = self.find(a)
        rb, ob = self.find(b)
        if ra == rb:
            return
        self.parent[ra] = (rb, log_ratio + ob - oa)
        self.why.setdefault(rb, []).extend(self.why.pop(ra, []) + [why])

    def notes(self, x: Node) -> list[str]:
        return list(self.why.get(self.find(x)[0], []))


@dataclass(frozen=True, eq=False)    # hashed by identity (its entries are dicts)
class Comparison:
    """Pooled comparison of two nodes: y = d_a − d_b with variance v, and the entries behind it."""

    a: Node
    b: Node
    y: float
    v: float
    entries: tuple[dict, ...]
    randomised: bool


@dataclass
class Estimate:
    """Log relative effects (vs the reference) of every node the evidence reaches."""

    reference: Node
    ids: _Identities
    d: dict[Node, float] = field(default_factory=dict)         # by root node
    var: dict[Node, float] = field(default_factory=dict)
    cov: dict[tuple, float] = field(default_factory=dict)      # (root, root) within the randomised network
    how: dict[Node, str] = field(default_factory=dict)         # randomised | non-randomised | class
    share: dict[Node, dict[Comparison, float]] = field(default_factory=dict)   # of var(d) from each comparison
    network: list[Comparison] = field(default_factory=list)    # comparisons of the randomised network
    notes: dict[Node, list[str]] = field(default_factory=dict)

    def value(self, x: Node) -> tuple[float, float] | None:
        """(log effect, variance) of a node, or None if the evidence does not reach it."""
        root, off = self.ids.find(x)
        if root not in self.d:
            return None
        return self.d[root] + off, self.var[root]

    def contrast(self, a: Node, b: Node) -> tuple[float, float] | None:
        """(log ratio, variance) of a vs b, with their covariance in the randomised network."""
        va, vb = self.value(a), self.value(b)
        if va is None or vb is None:
            return None
        ra, rb = self.ids.find(a)[0], self.ids.find(b)[0]
        c = self.cov.get((ra, rb), 0.0) if ra != rb else self.var[ra]
        return va[0] - vb[0], max(va[1] + vb[1] - 2.0 * c, 0.0)


def _comparisons(entries: list[dict], drugs: dict, ids: _Identities) -> list[Comparison]:
    """Entries with a CI between distinct nodes, pooled by pair (inverse variance)."""
    pairs: dict[tuple, list[tuple[float, float, dict]]] = {}
    for e in entries:
        s = log_se(e)
        if s is None or s <= 0:
            continue
        for a in expand(node(e["treatment"]), drugs):
            for b in expand(node(e["comparator"]), drugs):
                ra, oa = ids.find(a)
                rb, ob = ids.find(b)
                if ra == rb:
                    continue
                y = math.log(e["ratio"]) - oa + ob
                key, sign = ((ra, rb), 1.0) if ra <= rb else ((rb, ra), -1.0)
                pairs.setdefault(key, []).append((sign * y, s * s, e))
    out = []
    for (a, b), group in pairs.items():
        for randomised in (True, False):
            g = [(y, v, e) for y, v, e in group if bool(e["randomised"]) == randomised]
            if not g:
                continue
            w = [1.0 / v for _, v, _ in g]
            y = sum(wi * yi for wi, (yi, _, _) in zip(w, g, strict=True)) / sum(w)
            out.append(Comparison(a, b, y, 1.0 / sum(w), tuple(e for _, _, e in g), randomised))
    return out


def _component(start: Node, comps: list[Comparison]) -> set[Node]:
    adj: dict[Node, set[Node]] = {}
    for c in comps:
        adj.setdefault(c.a, set()).add(c.b)
        adj.setdefault(c.b, set()).add(c.a)
    seen, todo = {start}, [start]
    while todo:
        for n in adj.get(todo.pop(), ()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def _gls(est: Estimate, ref: Node, comps: list[Comparison]) -> None:
    """Step 2: the randomised network by generalised least squares."""
    nodes = sorted(_component(ref, comps) - {ref})
    est.d[ref], est.var[ref], est.how[ref] = 0.0, 0.0, "reference"
    if not nodes:
        return
    col = {n: i for i, n in enumerate(nodes)}
    rows = [c for c in comps if c.a in col or c.b in col]
    X = np.zeros((len(rows), len(nodes)))
    y = np.array([c.y for c in rows])
    w = np.array([1.0 / c.v for c in rows])
    for i, c in enumerate(rows):
        if c.a in col:
            X[i, col[c.a]] += 1.0
        if c.b in col:
            X[i, col[c.b]] -= 1.0
    info = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(info)
    H = cov @ (X.T * w)                # d = H y: how each comparison moves each estimate
    d = H @ y
    est.network = rows
    v = np.array([c.v for c in rows])
    for n, i in col.items():
        est.d[n], est.var[n], est.how[n] = float(d[i]), float(cov[i, i]), "randomised"
        part = H[i] ** 2 * v           # var(d_n) = Σ_e H_ne² v_e (independent comparisons)
        est.share[n] = {c: float(x / part.sum()) for c, x in zip(rows, part, strict=True) if x > 1e-12 * part.sum()}
        for m, j in col.items():
            est.cov[(n, m)] = float(cov[i, j])


def _chains(est: Estimate, comps: list[Comparison]) -> None:
    """Step 3: nodes outside the randomised network, by least-variance chains of comparisons."""
    adj: dict[Node, list[tuple[Node, float, float, Comparison]]] = {}
    for c in comps:
        adj.setdefault(c.a, []).append((c.b, c.y, c.v, c))
        adj.setdefault(c.b, []).append((c.a, -c.y, c.v, c))
    heap = [(est.var[n], i, n) for i, n in enumerate(sorted(est.d))]
    heapq.heapify(heap)
    best = {n: est.var[n] for n in est.d}
    tie = len(heap)
    while heap:
        v, _, here = heapq.heappop(heap)
        if v > best.get(here, math.inf):
            continue
        for other, y_here_minus_other, cv, c in adj.get(here, []):
            if other in est.d and est.how.get(other) != "non-randomised":
                continue
            nv = v + cv
            if nv < best.get(other, math.inf):
                best[other] = nv
                est.d[other] = est.d[here] - y_here_minus_other
                est.var[other] = nv
                est.how[other] = "non-randomised"
                est.share[other] = {**{k: x * v / nv for k, x in est.share.get(here, {}).items()}, c: cv / nv}
                tie += 1
                heapq.heappush(heap, (nv, tie, other))


def estimate(entries: list[dict], drugs: dict[str, dict], reference: dict,
             class_effects: tuple[str, ...] = ()) -> Estimate:
    """Relative effects of every treatment the input ``entries`` (one type) reach."""
    ids = _Identities()
    for e in entries:
        if log_se(e) is None and e.get("status") == "assumption":
            for a in expand(node(e["treatment"]), drugs):
                for b in expand(node(e["comparator"]), drugs):
                    ratio = f" (ratio {e['ratio']:g})" if e["ratio"] != 1 else ""
                    ids.union(a, b, math.log(e["ratio"]), f"{label(a)} taken as {label(b)}{ratio}: "
                              f"{e.get('note') or 'assumption'} [{e['id']}]")
    for cls in class_effects:
        for drug, d in drugs.items():
            if d["drug_class"] == cls:
                for dose in d["doses_mg"]:
                    ids.union(("drug", drug, float(dose)), ("class", cls), 0.0,
                              f"{drug} taken to have the effect of its class {cls} (class effect assumed)")
    ref = ids.find(node(reference))[0]
    est = Estimate(ref, ids)
    comps = _comparisons(entries, drugs, ids)
    _gls(est, ref, [c for c in comps if c.randomised])
    _chains(est, comps)
    for drug, d in drugs.items():                 # step 4: class fallback (never from a sibling)
        cls_root, cls_off = ids.find(("class", d["drug_class"]))
        for dose in d["doses_mg"]:
            r, _ = ids.find(("drug", drug, float(dose)))
            if r not in est.d and cls_root in est.d:
                est.d[r], est.var[r], est.how[r] = est.d[cls_root] + cls_off, est.var[cls_root], "class"
                est.share[r] = est.share.get(cls_root, {})
                est.notes[r] = [f"no evidence for {label(r)}: its class {d['drug_class']}'s effect is used "
                                "(class effect assumed)"]
    return est
