"""One-way sensitivity as a tornado table: an arm against the reference, on net benefit at any
willingness to pay or on the ICER.

Reads the one-way table of a PSA (``one_way.parquet``: every parameter at its 2.5% and 97.5%
quantile, the others at their point values, under the clocks of draw 0) and gives, per
parameter, the outcome at the low and at the high value, the base case and the swing
(|high - low|), widest first. Outcomes, per patient:

- ``nmb``: incremental net monetary benefit, wtp × ΔQALYs − Δcosts (currency);
- ``icer``: Δcosts / ΔQALYs (currency per QALY); undefined (NaN, with a reason) where ΔQALYs
  is not positive, since a negative ratio mixes "cheaper and worse" with "dearer and better"
  (a negative ICER with more QALYs is kept, noted "dominant");
- ``incremental_costs`` (currency) and ``incremental_qalys`` (QALYs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa

from jaksim.errors import JaksimError

MEASURES = ("nmb", "icer", "incremental_costs", "incremental_qalys")


@dataclass(frozen=True)
class TornadoBar:
    """One parameter's bar: its low and high value and the outcome at each."""

    parameter: str
    value_low: float
    value_high: float
    outcome_low: float
    outcome_high: float
    note: str              # why an ICER is undefined at a bound ("" when both are defined)

    @property
    def swing(self) -> float:
        """|outcome at high − outcome at low|; NaN when one end is undefined."""
        return abs(self.outcome_high - self.outcome_low)


@dataclass(frozen=True)
class Tornado:
    """The bars (widest first) and the base case of one arm against the reference."""

    arm: str
    reference: str
    measure: str
    willingness_to_pay: float | None
    base: float
    base_note: str
    bars: list[TornadoBar]

    @property
    def defined_bars(self) -> list[TornadoBar]:
        """The bars defined at both ends (an ICER is undefined where ΔQALYs ≤ 0)."""
        return [b for b in self.bars if b.swing == b.swing]

    def table(self, label=None) -> pa.Table:
        """Tidy Arrow table, one row per parameter (``label``: readable name of a parameter)."""
        rows = [{"arm": self.arm, "reference_arm": self.reference, "measure": self.measure,
                 "willingness_to_pay": self.willingness_to_pay, "parameter": b.parameter,
                 "label": label(b.parameter) if label else b.parameter,
                 "value_low": b.value_low, "value_high": b.value_high, "outcome_low": b.outcome_low,
                 "outcome_high": b.outcome_high, "base": self.base, "swing": b.swing, "note": b.note}
                for b in self.bars]
        schema = pa.schema([("arm", pa.string()), ("reference_arm", pa.string()), ("measure", pa.string()),
                            ("willingness_to_pay", pa.float64()), ("parameter", pa.string()), ("label", pa.string()),
                            ("value_low", pa.float64()), ("value_high", pa.float64()),
                            ("outcome_low", pa.float64()), ("outcome_high", pa.float64()), ("base", pa.float64()),
                            ("swing", pa.float64()), ("note", pa.string())])
        return pa.Table.from_pylist(rows, schema=schema)


def _outcome(measure: str, d_costs: float, d_qalys: float, wtp: float | None) -> tuple[float, str]:
    if measure == "nmb":
        return float(wtp) * d_qalys - d_costs, ""  # type: ignore[arg-type]
    if measure == "incremental_costs":
        return d_costs, ""
    if measure == "incremental_qalys":
        return d_qalys, ""
    if d_qalys > 0:
        return d_costs / d_qalys, "dominant (cheaper, more QALYs)" if d_costs < 0 else ""
    if d_qalys < 0:
        return math.nan, "fewer QALYs than the reference" + (" and cheaper" if d_costs < 0 else " (dominated)")
    return math.nan, "no QALY difference"


def tornado(one_way: pa.Table, arm: str, reference: str, measure: str = "nmb",
            willingness_to_pay: float | None = None) -> Tornado:
    """The tornado of ``arm`` against ``reference`` from a PSA's one-way table (see the module)."""
    if measure not in MEASURES:
        raise JaksimError(f"measure '{measure}' is not allowed; allowed: {', '.join(MEASURES)}")
    if measure == "nmb" and willingness_to_pay is None:
        raise JaksimError("net monetary benefit needs a willingness to pay per QALY (--wtp)")
    d = one_way.to_pydict()
    cells: dict[tuple[str, str, str], tuple[float, float, float]] = {}
    for p, b, v, a, c, q in zip(d["parameter"], d["bound"], d["value"], d["arm"], d["costs"], d["qalys"], strict=True):
        cells[(p, b, a)] = (v, c, q)
    arms = sorted({a for a in d["arm"]})
    for name, what in ((arm, "arm"), (reference, "reference arm")):
        if name not in arms:
            raise JaksimError(f"{what} '{name}' is not in this PSA; allowed: {', '.join(arms)}")

    def at(p: str, bound: str) -> tuple[float, float, str]:
        v, c1, q1 = cells[(p, bound, arm)]
        _, c0, q0 = cells[(p, bound, reference)]
        out, note = _outcome(measure, c1 - c0, q1 - q0, willingness_to_pay)
        return v, out, note

    _, base, base_note = at("", "base")
    bars = []
    for p in sorted({p for p in d["parameter"] if p}):
        v_lo, lo, n_lo = at(p, "low")
        v_hi, hi, n_hi = at(p, "high")
        note = "; ".join(f"{side}: {n}" for side, n in (("low", n_lo), ("high", n_hi)) if n)
        bars.append(TornadoBar(p, v_lo, v_hi, lo, hi, note))
    bars.sort(key=lambda b: (math.isnan(b.swing), -b.swing if not math.isnan(b.swing) else 0.0, b.parameter))
    return Tornado(arm, reference, measure, willingness_to_pay if measure == "nmb" else None, base, base_note, bars)


def axis_label(t: Tornado, currency: str) -> str:
    """The x-axis of the tornado diagram, with units."""
    if t.measure == "nmb":
        return f"Incremental net monetary benefit per patient ({currency}) at {t.willingness_to_pay:,.0f} per QALY"
    if t.measure == "icer":
        return f"ICER ({currency} per QALY gained)"
    if t.measure == "incremental_costs":
        return f"Incremental discounted costs per patient ({currency})"
    return "Incremental discounted QALYs per patient"
