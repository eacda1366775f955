"""The evidence sections of ``docs/parameters.md``: share of values by status, baselines,
relative effects, and each JAK inhibitor's resolved relative effect against csDMARD."""

from __future__ import annotations

from jaksim.library import Library
from jaksim.model import evidence as ev
from jaksim.scenario.schema import INDICATIONS


def _cite(e: dict) -> str:
    doi = e.get("doi")
    return (str(e.get("citation", "")).replace("|", "/").replace("\n", " ") + (f" doi:{doi}" if doi else "")).strip()


def _ci(ci) -> str:
    return f"{ci[0]:.3g}–{ci[1]:.3g}" if ci and ci[0] is not None and ci[1] is not None else "–"


def status_table(counts: dict) -> list[str]:
    """Values of each library file by status, and the share read or computed."""
    out = ["## Where the numbers come from", "", "| file | read | computed | assumption | read or computed |",
           "|---|---:|---:|---:|---:|"]
    tot = {"read": 0, "computed": 0, "assumption": 0}
    for name, c in counts.items():
        n = sum(c[k] for k in tot)
        for k in tot:
            tot[k] += c[k]
        out.append(f"| {name} | {c['read']} | {c['computed']} | {c['assumption']} | "
                   f"{(c['read'] + c['computed']) / n:.0%} |" if n else f"| {name} | 0 | 0 | 0 | – |")
    n = sum(tot.values())
    out.append(f"| **all** | {tot['read']} | {tot['computed']} | {tot['assumption']} | "
               f"**{(tot['read'] + tot['computed']) / n:.0%}** |")
    return out + [""]


def evidence_sections(lib: Library) -> list[str]:
    """Baselines, relative effects (inputs and checks) and resolved relative effects."""
    e = lib.evidence
    out = ["## Baseline risk on the reference treatment (per 100 patient-years)", "",
           f"Reference treatment: {ev.label(ev.node(e['reference_treatment']))}. Class effects assumed: "
           f"{', '.join(e.get('class_effects', [])) or 'none'}.", "",
           "| indication | type | rate | 95% CI | measure | population | status | source |",
           "|---|---|---|---|---|---|---|---|"]
    for b in e.get("baselines", []):
        out.append(f"| {b['indication']} | {b['type']} | {b['rate_per_100py']:g} | {_ci(b.get('ci95_per_100py'))} | "
                   f"{b['measure']} | {str(b['population'].get('description', '')).replace('|', '/')} | "
                   f"{b['status']} | {_cite(b)} |")
    out += ["", "## Relative effects (inputs of the network, and checks)", "",
            "| id | indication | type | treatment | comparator | ratio (95% CI) | measure | randomised | role | "
            "status | source |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in e.get("relative_effects", []):
        out.append(f"| {r['id']} | {r.get('indication') or 'every'} | {r.get('type') or 'every'} | "
                   f"{ev.label(ev.node(r['treatment']))} | {ev.label(ev.node(r['comparator']))} | "
                   f"{r['ratio']:.3g} ({_ci(r.get('ci95'))}) | {r['measure']} | {'yes' if r['randomised'] else 'no'} | "
                   f"{r.get('role', 'input')} | {r['status']} | {_cite(r)} |")
    out += ["", "## Resolved relative effects against the reference treatment", "",
            "Network meta-analysis of the inputs above (`jaksim/model/network.py`). *how*: randomised network, "
            "non-randomised chain, class effect, or — (no evidence: the programme rate is used, labelled).", "",
            "| drug | dose mg | indication | type | RE (95% CI) | how | status | transfer |",
            "|---|---|---|---|---|---|---|---|"]
    for drug, d in lib.drugs.items():
        if d["drug_class"] != "jak_inhibitor":
            continue
        for dose in d["doses_mg"]:
            for ind in INDICATIONS:
                for t in lib.infection_types:
                    re = ev.relative_effect(e, lib.drugs, drug, dose, t, ind)
                    if re is None or (re.transfer and ind != "ra"):
                        continue
                    p = re.provenance()
                    out.append(f"| {drug} | {dose:g} | {ind} | {t} | {re.ratio:.3g} ({_ci(p['ci95'])}) | {re.how} | "
                               f"{p['status']} | {'yes' if re.transfer else ''} |")
    return out + [""]
