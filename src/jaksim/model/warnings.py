"""Things a user should know before trusting a scenario's numbers, as one-line warnings.

* NICE reference case (``economics.discount: nice`` or GBP) with a life table that is not a
  UK one: the mortality, life-years and QALYs are another country's;
* economics values that are placeholders (status ``assumption`` in ``economics.yaml``) and that
  the scenario does not replace.

They are printed by ``jaksim validate``, ``run`` and ``psa`` (stderr, ``warning:`` lines) and
written into every output file's metadata (``jaksim.warnings``).
"""

from __future__ import annotations

UK = ("United Kingdom", "England and Wales", "England", "Scotland", "Wales")


def _assumed(node, path=()) -> list[str]:
    """Key paths of economics provenance records whose status is assumption."""
    if isinstance(node, dict):
        if node.get("status") == "assumption":
            return [".".join(map(str, path))]
        out = []
        for k, v in node.items():
            out += _assumed(v, path + (k,))
        return out
    return []


def _arms(names: list[str], all_names: list[str]) -> str:
    return "every arm" if names == all_names else "arm" + ("s " if len(names) > 1 else " ") + ", ".join(
        f"'{n}'" for n in names)


def model_warnings(model, library) -> tuple[str, ...]:
    """Warnings for a resolved model (see the module docstring), one line each."""
    sc = model.scenario
    names = [a.name for a in sc.arms]
    foreign: dict[tuple, list[str]] = {}
    placeholders: dict[str, None] = {}
    for arm, econ in zip(sc.arms, model.economics, strict=False):
        uk_case = econ.currency == "GBP" or getattr(arm.economics, "discount", None) == "nice"
        m = arm.mortality
        if uk_case and m.rate_per_100py is None:
            name = m.life_table or library.default_life_table()
            tables = (library.data.get("mortality") or {}).get("life_tables", {})
            country = (tables.get(name) or {}).get("country")
            if country not in UK:
                foreign.setdefault((name, country), []).append(arm.name)
        placeholders.update(dict.fromkeys(_assumed({k: v for k, v in econ.provenance.items() if k != "discount"})))
    out = [f"{_arms(arms, names)}: NICE reference case (GBP) with the life table '{name}' "
           f"({country or 'country not stated'}); give mortality.life_table of a UK population for UK "
           "life-years and QALYs" for (name, country), arms in foreign.items()]
    if placeholders:
        p = list(placeholders)
        out.append(f"{len(p)} cost or utility value(s) used are placeholders (status assumption in economics.yaml): "
                   f"{', '.join(p[:4])}{' ...' if len(p) > 4 else ''}; give them in the scenario's economics "
                   "section or a user library")
    return tuple(out)
