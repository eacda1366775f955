"""The parameter library: published rates, hazard ratios and consequences with sources.

Data live in ``parameters.yaml``, ``source_populations.yaml``, ``vaccines.yaml``,
``economics.yaml`` and ``life_tables/*.csv`` beside this file (human-readable, not code).
Every value carries its citation and a ``status``: ``read`` (number read in the source),
``computed`` (arithmetic on read numbers, shown in the note) or ``assumption``.

Modules: ``schema`` (what each file may hold), ``checks`` (references between entries),
``loader`` (the one place files are read, validated and cached; ``JAKSIM_LIBRARY`` points it
at another folder), ``entries`` (look-ups: :class:`Library`, :class:`Sourced`), ``resolve``
("scenario value, else library, else assumption", with provenance) and ``uncertainty``
(PSA distributions).
"""

from __future__ import annotations

from jaksim.library.entries import Library, LifeTable, Sourced
from jaksim.library.loader import ENV_VAR, library_root, load_library, read_life_table

__all__ = ["ENV_VAR", "STATUSES", "Library", "LifeTable", "Sourced", "library_root", "load_library",
           "read_life_table"]


def __getattr__(name: str):
    """``STATUSES`` from the schema, imported on first use (a run reading the cached library needs
    no schema)."""
    if name == "STATUSES":
        from jaksim.library.schema import STATUSES
        return STATUSES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
