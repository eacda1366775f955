"""How much of a scenario rests on assumptions: its resolved values counted by status.

Each arm's provenance (``ArmSpec.provenance``) holds one record per resolved value: typed in
the scenario file, read in a source, computed from read values, or assumed. A record is a
mapping with ``status`` (library values, relative effects, assumptions) or with ``source:
scenario file``; records inside a record (the comparisons behind a relative effect) are not
counted again.
"""

from __future__ import annotations

from collections import Counter

#: what a count is kept under: the record's status, or "scenario" for values typed in the scenario
KINDS = ("read", "computed", "assumption", "scenario")


def _walk(node, out: Counter, scenario: bool = False) -> None:
    """Count the records under ``node`` by status (and, with ``scenario``, values typed in the
    scenario file); a record's own sub-records are not counted again."""
    if isinstance(node, dict):
        if node.get("status") in ("read", "computed", "assumption"):
            out[node["status"]] += 1
            return
        if scenario and str(node.get("source", "")).startswith("scenario file"):
            out["scenario"] += 1
            return
        for v in node.values():
            _walk(v, out, scenario)
    elif isinstance(node, list):
        for v in node:
            _walk(v, out, scenario)


def status_counts(model) -> Counter:
    """Resolved values of every arm of a model by kind (read, computed, assumption, scenario)."""
    out: Counter = Counter()
    for arm in model.arms:
        _walk(arm.provenance, out, scenario=True)
    return out


def assumption_share(counts: Counter) -> float:
    """Share of the values taken from the library or assumed that are assumptions (0 if none)."""
    total = counts["read"] + counts["computed"] + counts["assumption"]
    return counts["assumption"] / total if total else 0.0


def library_status_counts(lib) -> dict[str, Counter]:
    """Every sourced value of a library by status, per file (an entry with a ``status`` is one
    value; the entries of ``evidence.yaml`` with role ``check`` included)."""
    from jaksim.economics.costs_qalys import economics_library
    from jaksim.library.loader import load_source_populations
    files = {"parameters.yaml": lib.data, "source_populations.yaml": load_source_populations(lib.root),
             "vaccines.yaml": lib.vaccines, "economics.yaml": economics_library(), "evidence.yaml": lib.evidence}
    out = {}
    for name, data in files.items():
        c: Counter = Counter()
        _walk(data, c)
        out[name] = c
    return out
