"""`jaksim report DIR`: one self-contained HTML file for a run with economics (the zoster
vaccination study), its PSA, and a run without economics; every section present, figures
embedded and also written as 300-dpi PNG and SVG; rendered in headless Chromium (skipped, with
the reason, where Debian's `chromium` is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jaksim import cli
from jaksim.report.html import SECTION_IDS

REPO = Path(__file__).resolve().parents[2]
VACC = REPO / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
TOFA = REPO / "scenarios" / "ra_tofacitinib_5mg.yaml"


def test_report_of_a_small_run_without_economics(tmp_path, minimal_path):
    """Quick: a one-arm run of the constant-hazard scenario; every section, two curve figures."""
    out = tmp_path / "run"
    assert cli.main(["run", str(minimal_path), "--n-patients", "300", "--out", str(out)]) == 0
    assert cli.main(["report", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'<section id="{sid}">' in html for sid in SECTION_IDS)
    assert html.count("data:image/svg+xml;base64,") == 2
    assert "One arm only" in html and "not known from the outputs" in html
    # the report belongs to the result: --overwrite still replaces the folder
    assert cli.main(["run", str(minimal_path), "--n-patients", "300", "--out", str(out), "--overwrite"]) == 0
    assert not (out / "report.html").exists()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The three folders, each with its report written."""
    base = tmp_path_factory.mktemp("report")
    out = {"vaccination": base / "vacc", "psa": base / "vacc_psa", "no_economics": base / "tofa"}
    assert cli.main(["run", str(VACC), "--n-patients", "2000", "--out", str(out["vaccination"])]) == 0
    assert cli.main(["psa", str(VACC), "--draws", "5", "--n-patients", "500", "--one-way",
                     "--out", str(out["psa"])]) == 0
    assert cli.main(["run", str(TOFA), "--n-patients", "2000", "--out", str(out["no_economics"])]) == 0
    for path in out.values():
        assert cli.main(["report", str(path)]) == 0
    return out


EXPECTED_FIGURES = {
    "vaccination": {"cumulative_incidence", "kaplan_meier", "ce_plane"},
    "psa": {"ce_plane", "ceac", "evpi", "tornado_nmb_rzv_all_before_start", "tornado_icer_rzv_all_before_start"},
    "no_economics": {"cumulative_incidence", "kaplan_meier"},
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(EXPECTED_FIGURES))
def test_report_is_one_self_contained_file_with_every_section(folders, kind):
    html = (folders[kind] / "report.html").read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in html, sid
    # self-contained: no reference to anything outside the file
    assert not re.search(r'<(script|link)\b', html)
    assert not re.search(r'(src|href)="(?!#|data:)', html)
    assert "http://" not in html.split("<main>")[0] and "https://" not in html.split("<main>")[0]
    figs = folders[kind] / "report_figures"
    for stem in EXPECTED_FIGURES[kind]:
        assert f'id="fig-{stem}"' in html, stem
        png, svg = figs / f"{stem}.png", figs / f"{stem}.svg"
        assert png.stat().st_size > 10_000 and svg.read_text().lstrip().startswith("<?xml")
        from PIL import Image
        with Image.open(png) as im:
            assert round(im.info["dpi"][0]) == 300
    assert html.count("data:image/svg+xml;base64,") == len(list(figs.glob("*.svg")))
    assert "CHEERS 2022" in html and "assumption" in html


@pytest.mark.slow
def test_report_contents_by_kind(folders):
    vacc = (folders["vaccination"] / "report.html").read_text(encoding="utf-8")
    psa = (folders["psa"] / "report.html").read_text(encoding="utf-8")
    tofa = (folders["no_economics"] / "report.html").read_text(encoding="utf-8")
    assert "deterministic run" in vacc and "Monte Carlo" in vacc          # CE plane labelled as such
    assert "parameter uncertainty" in psa and "CEAF" in psa and "EVPI" in psa
    assert "no `economics:` section" in tofa and "No arm of this scenario vaccinates or screens" in tofa
    assert "Aalen–Johansen" in vacc and "By attained age" in vacc and "glucocorticoid" in vacc
    assert "3.5% a year for costs" in vacc and "GBP, price year 2023" in vacc     # CHEERS discounting, currency
    assert "rzv_all_capacity_limited" in vacc and "wait weeks" in vacc           # vaccination table


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(EXPECTED_FIGURES))
def test_report_renders_in_headless_chromium(folders, kind, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    url = (folders[kind] / "report.html").resolve().as_uri()
    flags = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
             "--no-first-run", "--enable-logging=stderr", "--v=0"]
    shot = tmp_path / f"report_{kind}.png"
    r = subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1400,4000", url],
                       capture_output=True, text=True, timeout=180)
    assert shot.is_file() and shot.stat().st_size > 50_000, r.stderr[-2000:]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in dom.stdout, sid
    for stem in EXPECTED_FIGURES[kind]:
        assert f'id="fig-{stem}"' in dom.stdout, stem
    console = [line for line in (r.stderr + dom.stderr).splitlines() if "CONSOLE" in line]
    assert not console, console
