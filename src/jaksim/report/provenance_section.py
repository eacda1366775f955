"""Report sections from the provenance metadata: scenario and provenance, the parameter table
(value, status, source; assumptions flagged) and the CHEERS 2022 checklist."""

from __future__ import annotations

import json

from jaksim.report.data import Folder
from jaksim.report.sections import Section, Table, label

STATUSES = ("read", "computed", "assumption")
_VALUE_KEYS = ("rate_per_100py", "value", "probability", "anchor_efficacy", "name")


def scenario_section(f: Folder) -> Section:
    s = Section("scenario", "Scenario and provenance")
    sc, m, md = f.scenario, f.manifest, f.metadata
    deps = json.loads(md["jaksim.dependencies"]) if "jaksim.dependencies" in md else m.get("dependencies", {})
    rows = [["scenario", str(m.get("scenario", sc.get("name", "")))],
            ["description", str(sc.get("description") or "–")],
            ["folder", "PSA (`jaksim psa`)" if f.kind == "psa" else "run (`jaksim run`)"],
            ["patients per arm" + (" per draw" if f.kind == "psa" else ""), f"{int(m.get('n_patients', 0)):,}"],
            ["time horizon", f"{float(m.get('horizon_years', 0)):g} years"],
            ["seed", str(m.get("seed", md.get("jaksim.seed", "–")))],
            ["arms (first: reference)", ", ".join(f.arms)],
            ["infection types", ", ".join(label(t) for t in m.get("infection_types", [])) or "–"],
            ["evidence", str(sc.get("evidence") or "relative_effects (default)")],
            ["user library", str(sc.get("library") or "none")],
            ["jaksim version", str(m.get("jaksim_version", md.get("jaksim.version", "–")))],
            ["dependencies", ", ".join(f"{k} {v}" for k, v in sorted(deps.items())) or "not recorded"]]
    if f.kind == "psa":
        rows.insert(5, ["PSA draws", str(m.get("n_draws", "–"))])
    s.tables.append(Table("Scenario, options and software (from jaksim.json and the Parquet metadata jaksim.*)",
                          ["item", "value"], rows))
    yaml_text = md.get("jaksim.scenario_yaml")
    s.code = yaml_text or ""
    s.notes.append("Every output file carries the scenario file as written (below), the resolved scenario after "
                   "command-line overrides and every resolved parameter with its source (jaksim.* metadata keys); "
                   "reruns with the same seed are byte-identical.")
    return s


def _shown(record: dict) -> str:
    for k in _VALUE_KEYS:
        if k in record and record[k] is not None and not isinstance(record[k], dict | list):
            v = record[k]
            return f"{v:.4g}" if isinstance(v, float) else str(v)
    return "see source"


def records(node, path: str = "") -> list[tuple[str, str, str, str, str]]:
    """(parameter, value, status, source, note) of every resolved value in a provenance tree."""
    out: list[tuple[str, str, str, str, str]] = []
    if isinstance(node, dict):
        status = node.get("status")
        src = str(node.get("source", ""))
        if status in STATUSES or src.startswith("scenario file"):
            calibration = node.get("calibration")
            cal = calibration.get("assumptions") if isinstance(calibration, dict) else None
            note = f"calibrated; {len(cal)} calibration assumption(s)" if cal else ""
            out.append((path.lstrip("."), _shown(node), status if status in STATUSES else "scenario",
                        str(node.get("citation") or ("scenario file" if src.startswith("scenario") else src or "–")),
                        note))
            return out
        for k, v in node.items():
            out += records(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += records(v, f"{path}[{i}]")
    return out


def parameters_section(f: Folder) -> Section:
    s = Section("parameters", "Parameters: values, sources and status")
    rows: list[list[str]] = []
    flagged: list[bool] = []
    if f.kind == "psa" and "parameter_info" in f.psa:
        for r in f.psa["parameter_info"].to_pylist():
            rows.append([r["parameter"], f"{r['point_value']:.4g}", f"{r['family']} ({r['ci_lower']:.4g} to "
                         f"{r['ci_upper']:.4g})", r["status"], r["citation"] or "–"])
            flagged.append(r["status"] == "assumption")
        s.tables.append(Table("Uncertain parameters of the PSA: point value, distribution (95% interval), status "
                              "and source; assumptions highlighted",
                              ["parameter", "point value", "distribution (95% interval)", "status", "source"],
                              rows, flagged))
    else:
        seen: dict[tuple, list[str]] = {}
        for arm, tree in f.arm_parameters.items():
            for rec in records(tree):
                seen.setdefault(rec, []).append(arm)
        for rec, arms in seen.items():
            shown = "all" if len(arms) == len(f.arms) else ", ".join(arms)
            rows.append([*rec, shown])
            flagged.append(rec[2] == "assumption")
        s.tables.append(Table("Every resolved value (jaksim.parameters metadata): value, status (read in a source, "
                              "computed from read values, assumption, or typed in the scenario), source; "
                              "assumptions highlighted", ["parameter", "value", "status", "source", "note", "arms"],
                              rows, flagged))
    n_assumed = sum(flagged)
    s.notes.append(f"{n_assumed} of {len(rows)} values listed are assumptions (no source gives them).")
    if f.kind == "run" and f.has_economics:
        s.notes.append("Costs and utilities are not recorded in a run's metadata: they come from the scenario's "
                       "economics section and src/jaksim/library/economics.yaml, where nearly all values are "
                       "placeholders with status 'assumption' (`jaksim params --section economics`; a PSA lists "
                       "them with their status).")
    return s
