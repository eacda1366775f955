"""``jaksim report DIR``: one self-contained HTML file (``DIR/report.html``) for a run or PSA
folder, with or without economics; every figure embedded (SVG data URI) and also written as a
300-dpi PNG and an SVG under ``DIR/report_figures/``. No network, no external CSS or JS."""

from __future__ import annotations

from pathlib import Path

from jaksim import __version__
from jaksim.report.cheers import cheers_section
from jaksim.report.data import read_folder
from jaksim.report.economics_section import economics_section
from jaksim.report.provenance_section import parameters_section, scenario_section
from jaksim.report.sections import contrasts_section, curves_section, summary_section
from jaksim.report.strata import strata_section, vaccination_section

#: the ids of the report's sections, in page order (every report has all of them)
SECTION_IDS = ("scenario", "summary", "contrasts", "curves", "strata", "vaccination", "economics", "parameters",
               "cheers")


def write_html_report(folder, out: Path | None = None) -> Path:
    """Write the report of a run or PSA ``folder``; returns the path of the HTML file.

    ``out``: the HTML file (default ``folder/report.html``); figures go to ``report_figures/``
    next to it.
    """
    import jinja2

    f = read_folder(folder)
    html = Path(out) if out is not None else f.path / "report.html"
    figdir = html.parent / "report_figures"
    sections = [scenario_section(f), summary_section(f), contrasts_section(f), curves_section(f, figdir),
                strata_section(f), vaccination_section(f), economics_section(f, figdir), parameters_section(f),
                cheers_section(f)]
    assert tuple(s.id for s in sections) == SECTION_IDS
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=False, keep_trailing_newline=True)
    kind = "probabilistic sensitivity analysis" if f.kind == "psa" else "simulation run"
    name = f.manifest.get("scenario", "")
    n = int(f.manifest.get("n_patients", 0))
    subtitle = (f"{kind}: {n:,} patients per arm" + (f" × {f.manifest.get('n_draws')} draws" if f.kind == "psa" else "")
                + f", {float(f.manifest.get('horizon_years', 0)):g}-year horizon, {len(f.arms)} arm(s), seed "
                f"{f.manifest.get('seed')} — jaksim {__version__}")
    text = env.get_template("report.html.j2").render(
        title=f"jaksim report: {name}", subtitle=subtitle, sections=sections, version=__version__)
    tmp = html.with_name(html.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(html)
    return html
