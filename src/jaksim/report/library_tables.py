"""The parameter library as tables for ``jaksim params``: baselines, relative effects, rates,
vaccines and economics, each value with its status and source."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from jaksim.model.evidence import label, node

SECTIONS = ("baselines", "relative_effects", "rates", "profiles", "frailty", "screening", "serostatus", "vaccines",
            "economics")


def _source(e: dict, width: int = 60) -> str:
    cite = str(e.get("citation", ""))
    text = cite[:width] + ("…" if len(cite) > width else "")
    return escape(text + (f" doi:{e['doi']}" if e.get("doi") else "")
                  + (f" [{e['library']}]" if e.get("library") else ""))


def _ci(ci) -> str:
    return f"{ci[0]:g}–{ci[1]:g}" if ci and ci[0] is not None and ci[1] is not None else "–"


def baselines_table(lib, type_: str | None = None) -> Table:
    t = Table(title=f"Baseline risk on the reference treatment ({label(node(lib.evidence['reference_treatment']))}),"
                    " per 100 patient-years")
    for c in ("indication", "type", "rate", "95% CI", "measure", "population", "status", "source"):
        t.add_column(c)
    for b in lib.evidence.get("baselines", []):
        if type_ and b["type"] != type_:
            continue
        t.add_row(b["indication"], b["type"], f"{b['rate_per_100py']:g}", _ci(b.get("ci95_per_100py")),
                  b["measure"], str(b["population"].get("description", ""))[:50], b["status"], _source(b))
    return t


def relative_effects_table(lib, drug: str | None = None, type_: str | None = None) -> Table:
    t = Table(title="Relative effects (input: used in the network; check: kept to compare)")
    for c in ("id", "indication", "type", "treatment", "vs", "ratio", "95% CI", "measure", "randomised", "role",
              "status", "source"):
        t.add_column(c)
    for e in lib.evidence.get("relative_effects", []):
        if (type_ and e.get("type") not in (type_, None)) or (drug and drug not in (e["treatment"].get("drug"),
                                                                    e["comparator"].get("drug"))):
            continue
        t.add_row(e["id"], e.get("indication") or "every", e.get("type") or "every",
                  label(node(e["treatment"])), label(node(e["comparator"])),
                  f"{e['ratio']:.3g}", _ci(e.get("ci95")), e["measure"], "yes" if e["randomised"] else "no",
                  e.get("role", "input"), e["status"], _source(e, 40))
    return t


def rates_table(lib, drug: str | None = None, type_: str | None = None) -> Table:
    t = Table(title="Programme rates (evidence: programme_rates), per 100 patient-years")
    for c in ("drug", "dose mg", "indication", "type", "rate", "95% CI", "measure", "status", "source"):
        t.add_column(c)
    for r in lib.data.get("rates", []):
        if (drug and r["drug"] != drug) or (type_ and r["type"] != type_):
            continue
        t.add_row(r["drug"], f"{r['dose_mg']:g}", r.get("indication", "ra"), r["type"], f"{r['rate_per_100py']:g}",
                  _ci(r.get("ci95_per_100py")), str(r.get("measure", "")) + (f" ({r['window_years']:g} y window)"
                  if r.get("window_years") is not None else ""), r["status"], _source(r))
    return t


def profiles_table(lib, drug: str | None = None, type_: str | None = None) -> Table:
    t = Table(title="Time-on-treatment profiles (hazard multiplier by years on treatment, first period = 1)")
    for c in ("drug", "type", "profile", "edges (years)", "multipliers", "status", "source"):
        t.add_column(c)
    for e in lib.data.get("time_on_treatment_profiles", []):
        if (drug and e.get("drug") not in (drug, None)) or (type_ and e["type"] != type_):
            continue
        t.add_row(e.get("drug") or "every", e["type"], e["profile"],
                  ", ".join(f"{x:g}" for x in e.get("edges_years", [])) or "–",
                  ", ".join(f"{x:g}" for x in e.get("multipliers", [])) or "1", e["status"], _source(e, 40))
    return t


def frailty_table(lib, type_: str | None = None) -> Table:
    t = Table(title="Frailty (frailty: library): variance of a per-patient gamma frailty, mean 1; "
                    "types not listed have none")
    for c in ("type", "variance", "95% CI", "status", "source"):
        t.add_column(c)
    for e in lib.data.get("frailty", []):
        if not type_ or e["type"] == type_:
            t.add_row(e["type"], f"{e['variance']:g}", _ci(e.get("ci95")), e["status"], _source(e))
    return t


def screening_table(lib) -> Table:
    from jaksim.library.entries import section_entries
    t = Table(title="Latent TB (tb_screening): prevalence by setting, test accuracy, prophylaxis regimens")
    for c in ("value of", "value", "95% CI", "status", "source"):
        t.add_column(c)
    for path, e in section_entries(lib.data, "latent_tuberculosis"):
        t.add_row(path, f"{e['value']:g}", _ci(e.get("ci95")), e["status"], _source(e))
    return t


def serostatus_table(lib) -> Table:
    from jaksim.library.entries import section_entries
    t = Table(title="VZV serostatus (vzv_screening): seronegative share by region, serology, varicella, vaccine")
    for c in ("value of", "value", "95% CI", "status", "source"):
        t.add_column(c)
    for path, e in section_entries(lib.data, "varicella_zoster_serostatus"):
        t.add_row(path, f"{e['value']:g}", _ci(e.get("ci95")), e["status"], _source(e))
    return t


def vaccines_table(lib) -> Table:
    t = Table(title="Zoster vaccines: efficacy anchors by age group")
    for c in ("vaccine", "from age", "efficacy", "95% CI", "status", "source"):
        t.add_column(c)
    for name, v in lib.vaccines["vaccines"].items():
        for g in v["age_groups"]:
            eff = g.get("anchor_efficacy", g.get("initial_efficacy"))
            t.add_row(name, f"{g['from_age_years']:g}", f"{eff:g}", _ci(g.get("anchor_ci95")), g["status"], _source(g))
    return t


def economics_table(data: dict) -> Table:
    from jaksim.economics.costs_qalys import library_parameters
    t = Table(title="Economics: costs (price year of the currency), utilities, durations")
    for c in ("value of", "value", "95% CI", "distribution", "status", "source"):
        t.add_column(c)
    for path, e in library_parameters(data):
        what = ".".join(map(str, path)) + (f" ({e['drug']} {float(e['dose_mg']):g} mg)" if "drug" in e else "")
        t.add_row(what, f"{e['value']:g}", _ci(e.get("ci95")), e.get("distribution", "fixed"),
                  e["status"], _source(e))
    return t


def section_tables(lib, shown: list[str], drug: str | None = None, type_: str | None = None) -> list[Table]:
    """The tables of the library sections ``shown`` (names of ``SECTIONS``), in page order, for
    ``jaksim params``; ``drug`` and ``type_`` filter the sections that have them."""
    makers = {"baselines": lambda: baselines_table(lib, type_),
              "relative_effects": lambda: relative_effects_table(lib, drug, type_),
              "rates": lambda: rates_table(lib, drug, type_),
              "profiles": lambda: profiles_table(lib, drug, type_),
              "frailty": lambda: frailty_table(lib, type_),
              "screening": lambda: screening_table(lib),
              "serostatus": lambda: serostatus_table(lib),
              "vaccines": lambda: vaccines_table(lib),
              "economics": lambda: _economics()}
    return [makers[name]() for name in SECTIONS if name in shown]


def _economics() -> Table:
    from jaksim.economics.costs_qalys import economics_library
    return economics_table(economics_library())
