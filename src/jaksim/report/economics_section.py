"""Report section: cost-effectiveness (tables, CE plane, CEAC/CEAF, EVPI, tornado)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaksim.analysis.accumulators import acceptability, icer_table
from jaksim.report import figures as fg
from jaksim.report.data import Folder
from jaksim.report.labels import parameter_label
from jaksim.report.sections import MC_CI, PSA_CI, Section, Table


def _m(x: float) -> str:
    if x != x:
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def economics_section(f: Folder, figdir: Path) -> Section:
    s = Section("economics", "Cost-effectiveness")
    if not f.has_economics:
        s.notes.append("Not available: the scenario has no `economics:` section, so no costs or QALYs were "
                       "computed (no CE plane, CEAC, CEAF, EVPI or tornado).")
        return s
    return _psa(f, s, figdir) if f.kind == "psa" else _run(f, s, figdir)


def _icer_rows(arms, costs, qalys, wtp) -> list[list[str]]:
    rows = []
    for i in icer_table(arms, costs, qalys):
        icer = "–" if i["icer"] != i["icer"] else f"{_m(i['icer'])} vs {i['comparator']}"
        rows.append([i["name"], _m(i["costs"]), f"{i['qalys']:.4f}", i["status"], icer,
                     *[_m(w * i["qalys"] - i["costs"]) for w in wtp]])
    return rows


def _run(f: Folder, s: Section, figdir: Path) -> Section:
    from jaksim.report.tables import economics_rows
    rows = economics_rows(f.tables["economics"])
    r0 = rows[0]
    cur, wtp = r0["currency"], tuple(f.manifest.get("willingness_to_pay") or (20000.0, 30000.0))
    table = []
    for i, r in enumerate(rows):
        d_c = d_q = "–"
        if i:
            d_c = f"{_m(r['incremental_costs'])} ({_m(r['incremental_costs_ci_lower'])} to " \
                  f"{_m(r['incremental_costs_ci_upper'])})"
            d_q = f"{r['incremental_qalys']:.5f} ({r['incremental_qalys_ci_lower']:.5f} to " \
                  f"{r['incremental_qalys_ci_upper']:.5f})"
        icer = "–" if r["icer"] != r["icer"] else f"{_m(r['icer'])} vs {r['comparator']}"
        table.append([r["arm"], _m(r["mean_costs"]), f"{r['mean_qalys']:.4f}", f"{r['mean_life_years']:.4f}",
                      d_c, d_q, r["status"], icer, *[_m(w * r["mean_qalys"] - r["mean_costs"]) for w in wtp]])
    s.tables.append(Table(
        f"Costs ({cur}, {r0['price_year']} prices), QALYs and life-years per patient, discounted "
        f"{100 * r0['discount_rate_costs']:g}% / {100 * r0['discount_rate_outcomes']:g}% a year; increments "
        f"versus '{r0['reference_arm']}' (paired 95% CI); incremental analysis and net monetary benefit (NMB)",
        ["arm", f"costs ({cur})", "QALYs", "life-years", f"Δ costs ({cur}, 95% CI)", "Δ QALYs (95% CI)", "status",
         f"ICER ({cur}/QALY)", *[f"NMB at {_m(w)}/QALY" for w in wtp]], table))
    arms = [r["arm"] for r in rows]
    dq = np.array([[r["incremental_qalys"] for r in rows]])
    dc = np.array([[r["incremental_costs"] for r in rows]])
    cq = np.array([[r["incremental_qalys_ci_lower"] for r in rows], [r["incremental_qalys_ci_upper"] for r in rows]])
    cc = np.array([[r["incremental_costs_ci_lower"] for r in rows], [r["incremental_costs_ci_upper"] for r in rows]])
    s.figures.append(fg.save(
        fg.ce_plane(arms, dq, dc, wtp, cur, f.reference, psa=False, ci_q=cq, ci_c=cc), figdir, "ce_plane",
        "Cost-effectiveness plane (deterministic)",
        f"Deterministic run: incremental discounted QALYs and costs ({cur}) per patient of each arm versus "
        f"{f.reference}, point estimates with paired 95% CIs (Monte Carlo uncertainty only; parameter "
        "uncertainty needs `jaksim psa`). Lines: willingness-to-pay thresholds."))
    s.notes += [MC_CI + ".", "CEAC, CEAF, EVPI and the tornado diagram need parameter uncertainty: run "
                "`jaksim psa` (with `--one-way` for the tornado) and report its folder."]
    return s


def _pivot(outcomes, arms: list[str], column: str) -> np.ndarray:
    o = outcomes.to_pydict()
    draws = sorted(set(o["draw"]))
    row = {d: i for i, d in enumerate(draws)}
    col = {a: j for j, a in enumerate(arms)}
    out = np.full((len(draws), len(arms)), np.nan)
    for d, a, v in zip(o["draw"], o["arm"], o[column], strict=True):
        out[row[d], col[a]] = v
    return out


def _psa(f: Folder, s: Section, figdir: Path) -> Section:
    arms, ref = f.arms, f.reference
    cur, wtp = f.manifest.get("currency", ""), tuple(f.manifest.get("willingness_to_pay") or (20000.0, 30000.0))
    costs, qalys = _pivot(f.psa["outcomes"], arms, "costs"), _pivot(f.psa["outcomes"], arms, "qalys")
    n = costs.shape[0]
    s.tables.append(Table(f"Incremental analysis of the mean costs ({cur}) and QALYs per patient over {n} PSA draws "
                          "and net monetary benefit (NMB)",
                          ["arm", f"costs ({cur})", "QALYs", "status", f"ICER ({cur}/QALY)",
                           *[f"NMB at {_m(w)}/QALY" for w in wtp]],
                          _icer_rows(arms, costs.mean(0), qalys.mean(0), wtp)))
    s.figures.append(fg.save(
        fg.ce_plane(arms, qalys - qalys[:, :1], costs - costs[:, :1], wtp, cur, ref, psa=True), figdir, "ce_plane",
        "Cost-effectiveness plane (PSA)",
        f"Incremental discounted QALYs and costs ({cur}) per patient versus {ref}: one point per PSA draw "
        f"({n} draws; parameter uncertainty, each draw also carrying its Monte Carlo error), X = mean over draws."))
    grid = np.linspace(0, 3 * max(wtp), 121)
    acc = acceptability(costs, qalys, grid)
    s.figures.append(fg.save(
        fg.ceac(arms, grid, acc["probability_optimal"], acc["frontier"], cur), figdir, "ceac",
        "Cost-effectiveness acceptability curves and frontier",
        f"Share of the {n} PSA draws in which each arm has the highest net monetary benefit, by willingness to pay "
        f"({cur} per QALY); dots: the acceptability frontier (CEAF), the arm with the highest expected NMB."))
    s.figures.append(fg.save(
        fg.evpi(grid, acc["evpi"], cur), figdir, "evpi", "Expected value of perfect information",
        f"EVPI per patient ({cur}) by willingness to pay: E[max NMB] − max E[NMB] over the {n} PSA draws "
        "(parameter uncertainty). EVPPI is not computed by jaksim."))
    s.tables.append(Table("EVPI per patient at the thresholds", ["willingness to pay", f"EVPI per patient ({cur})"],
                          [[_m(w), _m(float(np.interp(w, grid, acc["evpi"])))] for w in wtp]))
    if "one_way" in f.psa:
        _tornado(f, s, figdir, cur, tuple(wtp))
    else:
        s.notes.append("No tornado diagram: this PSA was run without `--one-way`.")
    s.notes.append(PSA_CI + ".")
    return s


def _tornado(f: Folder, s: Section, figdir: Path, cur: str, wtp: tuple[float, ...]) -> None:
    """Tornado diagrams of each arm against the reference: NMB at the first threshold and the ICER;
    a table of the widest parameters on NMB at every threshold (``jaksim tornado`` draws any)."""
    from jaksim.analysis.tornado import axis_label, tornado
    one_way = f.psa["one_way"]
    ref = f.reference
    for arm in f.arms:
        if arm == ref or arm not in set(one_way.column("arm").to_pylist()):
            continue
        for t in (tornado(one_way, arm, ref, "nmb", wtp[0]), tornado(one_way, arm, ref, "icer")):
            shown = t.defined_bars
            if not shown or t.base != t.base:
                s.notes.append(f"No ICER tornado for {arm} versus {ref}: {t.base_note or 'undefined'} in the base "
                               "case; the NMB tornado applies." if t.measure == "icer" else
                               f"No tornado for {arm} versus {ref}: no defined bar.")
                continue
            left_out = len(t.bars) - len(shown)
            what = "incremental NMB" if t.measure == "nmb" else "ICER"
            s.figures.append(fg.save(
                fg.tornado_diagram(t, lambda p: parameter_label(p, cur), cur,
                                   f"One-way sensitivity ({what}): {arm} versus {ref}"),
                figdir, f"tornado_{t.measure}_{arm}", f"Tornado diagram ({what}): {arm} versus {ref}",
                f"{axis_label(t, cur)} of {arm} versus {ref} with each parameter at its 2.5% and 97.5% quantile and "
                "the others at their point values (the 15 widest), under the clocks of draw 0; the vertical line is "
                "the base case." + (f" {left_out} parameter(s) left out: the ICER is undefined at one end (fewer "
                                    "QALYs than the reference)." if left_out else "")))
        rows = []
        for w in wtp:
            for b in tornado(one_way, arm, ref, "nmb", w).bars[:5]:
                rows.append([_m(w), parameter_label(b.parameter, cur), _m(b.outcome_low), _m(b.outcome_high),
                             _m(b.swing)])
        s.tables.append(Table(f"Widest one-way ranges of the incremental NMB per patient ({cur}), {arm} versus "
                              f"{ref}, at each willingness to pay",
                              ["willingness to pay", "parameter", "at 2.5% quantile", "at 97.5% quantile", "swing"],
                              rows))
