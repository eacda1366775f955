"""The bad-input catalogue, continued (issue 17): more kinds of broken scenario, cohort file, life
table and economics section, each refused by ``validate`` and ``run`` with exit 2 and one line
naming the file, the line, the key path, the bad value and what is allowed, with nothing written
to ``--out``. Together with ``test_config_errors.CASES`` the catalogue holds at least 100 kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from test_config_errors import AGE_AND_SEX, ARMS, CASES, Case, check_one_line_error

from helpers import MINIMAL, leftovers, replace
from jaksim.cli import main

ECON = "economics:\n  discount: nice\n"
AGE = "{distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, max_years: 90}"
BOMB = "lol0: &l0 [lol]\n" + "".join(
    f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
LIFE_TABLE = "age,male_qx,female_qx\n" + "".join(f"{a},0.01,0.01\n" for a in range(121))


@dataclass(frozen=True)
class FileCase(Case):
    """A Case whose extra files are bytes (other encodings, binary content)."""

    raw: tuple[tuple[str, bytes], ...] = ()

    def write(self, directory: Path) -> Path:
        for name, content in self.raw:
            (directory / name).write_bytes(content)
        path = super().write(directory)
        path.write_bytes(self.text.encode("utf-8", "surrogatepass"))
        return path


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    return replace(text, old, new)


def rate(new: str) -> str:
    return edit("{rate_per_100py: 5.0}", new)


def age(new: str) -> str:
    return edit(AGE, new)


def cohort_file(csv: bytes | str, bad: tuple[str, ...], allowed: tuple[str, ...], name: str = "patients.csv") -> Case:
    text = edit(AGE_AND_SEX, f"  from_file: {name}")
    data = csv if isinstance(csv, bytes) else csv.encode()
    return FileCase(text, "from_file:", "cohort.from_file", (name,) + bad, allowed, raw=((name, data),))


def life_table(table: bytes | str, bad: tuple[str, ...], allowed: tuple[str, ...]) -> Case:
    text = edit("  rate_per_100py: 1.0", "  life_table: table.csv")
    data = table if isinstance(table, bytes) else table.encode()
    return FileCase(text, "life_table:", "mortality.life_table", ("table.csv",) + bad, allowed,
                    raw=(("table.csv", data),))


def econ(extra: str, line: str, path: str, bad: tuple[str, ...], allowed: tuple[str, ...]) -> Case:
    return Case(MINIMAL + ECON + extra, line, path, bad, allowed)


def vacc(body: str, line: str, path: str, bad: tuple[str, ...], allowed: tuple[str, ...]) -> Case:
    return Case(MINIMAL + "vaccination:\n" + body, line, path, bad, allowed)


MORE: dict[str, Case] = {
    # ------------------------------------------------------------------ YAML itself
    "nul_byte": Case(edit("drug: tofacitinib", "drug: tofa\0citinib"), "drug:", None,
                     ("U+0000 (NUL)", "column 13"), ("only tabs, line breaks and printable characters",)),
    "control_character_in_a_comment": Case(MINIMAL + "# a bell \x07\n", "# a bell", None, ("U+0007",),
                                           ("not allowed in YAML",)),
    "escape_character": Case(edit("  female: 0.5", "  female: 0.5 \x1b[31m"), "female:", None, ("U+001B",),
                             ("remove it",)),
    "alias_bomb": Case(BOMB + MINIMAL, 1, "lol5.3.6.2.5.6", ("more than 100,000 values",), ("use fewer aliases",)),
    "deep_flow_nesting": Case(MINIMAL + "description: " + "[" * 50 + "]" * 50 + "\n", "description:",
                              "description.0.0.0.0.0.0.0.…", ("nesting deeper than 32 levels",), ("not allowed",)),
    "deep_block_nesting": Case(MINIMAL + "description:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(40))
                               + "  " * 41 + "x\n", "k31:", "description.k0.k1.k2.k3.k4.k5.k6.…",
                               ("nesting deeper than 32 levels",), ("not allowed",)),
    "yaml_1_1_merge_key": Case(MINIMAL + "<<: {seed: 3}\n", "<<:", "<<", ("unknown key '<<'",),
                               ("allowed keys here:", "seed")),
    "mapping_as_a_key": Case(edit("  female: 0.5", "  female: 0.5\n  ? [a, b]\n  : 1"), "? [a, b]", "cohort",
                             ("mapping keys must be plain names",), ("not mappings or lists",)),
    "unknown_tag": Case(edit("seed: 12345", "seed: !seed 12345"), "seed:", None, ("'!seed'",), ("malformed YAML",)),
    "python_object_tag": Case(edit("name: minimal", "name: !!python/object/apply:os.system [echo hi]"), "name:",
                              "name", ("python/object/apply:os.system",), ("not allowed",)),
    "python_object_tag_on_a_mapping": Case(edit("  female: 0.5", "  female: !!python/object:os.system {a: 1}"),
                                           "female:", "cohort.female", ("python/object:os.system",),
                                           ("not allowed",)),
    "two_documents": Case(MINIMAL + "---\nname: other\n", "---", None, ("but found another document",),
                          ("malformed YAML",)),
    "file_larger_than_1_mib": Case(MINIMAL + ("#" + "x" * 99 + "\n") * 10_500, None, None,
                                   ("larger than 1,048,576 bytes",), ("the most a scenario may have",)),
    "duplicate_nested_key": Case(edit("  female: 0.5", "  female: 0.5\n  female: 0.6"), "female: 0.6",
                                 "cohort.female", ("duplicate key 'female'",), ("give each key once",)),
    "yaml_1_1_boolean_count": Case(edit("n_patients: 2000", "n_patients: true"), "n_patients:", "n_patients",
                                   ("true is not allowed here",), ("answer yes/no questions only",)),
    "sexagesimal_horizon": Case(edit("horizon_years: 2", "horizon_years: 1:30"), "horizon_years:",
                                "horizon_years", ("'1:30'",), ("valid number",)),
    "yes_as_a_probability": Case(edit("  female: 0.5", "  female: yes"), "female:", "cohort.female",
                                 ("'yes'",), ("valid number",)),
    "timestamp_as_seed": Case(edit("seed: 12345", "seed: 2020-01-01"), "seed:", "seed", ("2020, 1, 1",),
                              ("valid integer",)),
    # ------------------------------------------------------------- top-level numbers
    "seed_negative": Case(edit("seed: 12345", "seed: -1"), "seed:", "seed", ("got -1",), ("greater than or equal to 0",)),
    "seed_too_large": Case(edit("seed: 12345", "seed: 9223372036854775808"), "seed:", "seed",
                           ("9223372036854775808",), ("less than 9223372036854775808",)),
    "seed_fractional": Case(edit("seed: 12345", "seed: 1.5"), "seed:", "seed", ("1.5",), ("valid integer",)),
    "n_patients_zero": Case(edit("n_patients: 2000", "n_patients: 0"), "n_patients:", "n_patients", ("got 0",),
                            ("greater than or equal to 1",)),
    "n_patients_beyond_the_schema": Case(edit("n_patients: 2000", "n_patients: 1e13"), "n_patients:", "n_patients",
                                         ("10000000000000",), ("less than or equal to 1099511627776",)),
    "run_too_large_for_the_machine": Case(edit("n_patients: 2000", "n_patients: 1e12"), "n_patients:",
                                          "n_patients", ("1,000,000,000,000 patients", "days"), ("--force",)),
    "horizon_over_100_years": Case(edit("horizon_years: 2", "horizon_years: 101"), "horizon_years:",
                                   "horizon_years", ("got 101",), ("less than or equal to 100",)),
    "horizon_nan": Case(edit("horizon_years: 2", "horizon_years: .nan"), "horizon_years:", "horizon_years",
                        ("got nan",), ("less than or equal to 100",)),
    "evidence_unknown": Case(MINIMAL + "evidence: trials\n", "evidence:", "evidence", ("'trials'",),
                             ("'relative_effects' or 'programme_rates'",)),
    "time_on_treatment_profile_unknown": Case(MINIMAL + "time_on_treatment_profile: librari\n",
                                              "time_on_treatment_profile:", "time_on_treatment_profile",
                                              ("'librari'",), ("'library' or 'none'",)),
    "description_not_text": Case(MINIMAL + "description: {a: 1}\n", "description:", "description",
                                 ("{'a': 1}",), ("valid string",)),
    "name_with_markup": Case(edit("name: minimal", "name: '[bold]:thumbs_up:'"), "name:", "name",
                             ("'[bold]:thumbs_up:'",), ("letters, digits",)),
    "name_a_list": Case(edit("name: minimal", "name: [a]"), "name:", "name", ("['a']",), ("valid string",)),
    "library_file_missing": Case(MINIMAL + "library: nope.yaml\n", "library:", "library", ("nope.yaml",),
                                 ("relative to the scenario file",)),
    # --------------------------------------------------------- rates and hazard ratios
    "rate_infinite": Case(rate("{rate_per_100py: .inf}"), "infection_a:", "infections.infection_a.rate_per_100py",
                          ("got inf",), ("at most 1000 events per 100 patient-years",)),
    "rate_above_1000": Case(rate("{rate_per_100py: 1500}"), "infection_a:", "infections.infection_a.rate_per_100py",
                            ("got 1500.0",), ("at most 1000",)),
    "typed_rate_applies_to_unknown": Case(rate("{rate_per_100py: {value: 5, applies_to: everyone}}"),
                                          "infection_a:", "infections.infection_a.rate_per_100py.applies_to",
                                          ("'everyone'",), ("'reference_patient' or 'population'",)),
    "typed_rate_value_too_large": Case(rate("{rate_per_100py: {value: 5000}}"), "infection_a:",
                                       "infections.infection_a.rate_per_100py.value", ("got 5000",),
                                       ("less than or equal to 1000",)),
    "hazard_ratio_above_100": Case(rate("{rate_per_100py: 5.0, hazard_ratios: {female: 1000}}"), "infection_a:",
                                   "infections.infection_a.hazard_ratios.female", ("got 1000",),
                                   ("less than or equal to 100",)),
    "hazard_ratio_vanishing": Case(rate("{rate_per_100py: 5.0, hazard_ratios: {female: 1e-300}}"), "infection_a:",
                                   "infections.infection_a.hazard_ratios.female", ("1e-300",),
                                   ("greater than or equal to 0.001",)),
    "hazard_ratio_unknown_covariate": Case(rate("{rate_per_100py: 5.0, hazard_ratios: {smoker: 2}}"),
                                           "infection_a:", "infections.infection_a.hazard_ratios.smoker",
                                           ("unknown key 'smoker'",), ("age_per_10_years", "diabetes")),
    "reference_age_over_120": Case(rate("{rate_per_100py: 5.0, hazard_ratios: {reference_age_years: 150}}"),
                                   "infection_a:", "infections.infection_a.hazard_ratios.reference_age_years",
                                   ("got 150",), ("less than or equal to 120",)),
    "endless_events_for_the_worst_patient": Case(
        edit("horizon_years: 2", "horizon_years: 20",
             rate("{rate_per_100py: 1000, hazard_ratios: {female: 100, diabetes: 50}}")),
        "infection_a:", "infections.infection_a", ("a patient may expect", "events in 20 years"),
        ("at most 10,000 per patient", "lower the rate or the hazard ratios")),
    "off_treatment_hazard_ratio_zero": Case(rate("{rate_per_100py: 5.0, off_treatment_hazard_ratio: 0}"),
                                            "infection_a:", "infections.infection_a.off_treatment_hazard_ratio",
                                            ("got 0",), ("greater than or equal to 0.001",)),
    "time_on_treatment_ends_at_zero": Case(
        rate("{rate_per_100py: 5.0, time_on_treatment: [{until_years: 0, hazard_ratio: 2}]}"), "infection_a:",
        "infections.infection_a.time_on_treatment.0.until_years", ("got 0",), ("greater than 0",)),
    "recurrent_not_yes_no": Case(rate("{rate_per_100py: 5.0, recurrent: sometimes}"), "infection_a:",
                                 "infections.infection_a.recurrent", ("'sometimes'",), ("valid boolean",)),
    "background_incidence_on_another_type": Case(
        rate("{rate_per_100py: 5.0, background_incidence: high}"), "infection_a:",
        "infections.infection_a.background_incidence", ("got it on 'infection_a'",), ("'tuberculosis' only",)),
    "background_incidence_unknown": Case(
        edit("  infection_b: {rate_per_100py: 2.0}", "  tuberculosis: {background_incidence: extreme}"),
        "tuberculosis:", "infections.tuberculosis.background_incidence", ("'extreme'",),
        ("'low', 'medium' or 'high'",)),
    "infection_type_name_with_a_space": Case(edit("  infection_b:", "  'infection b':"), "infection b",
                                             "infections.infection b", ("'infection b'",), ("letters, digits",)),
    "infection_type_a_number": Case(edit("  infection_b:", "  5:"), "  5:", "infections.5", ("got 5",),
                                    ("valid string",)),
    "no_infection_types": Case(edit("  infection_a: {rate_per_100py: 5.0}\n  infection_b: {rate_per_100py: 2.0}\n",
                                    "  {}\n"), "infections:", "infections", ("got {}",),
                               ("at least one entry",)),
    # --------------------------------------------------------------- treatment, mortality
    "dose_negative": Case(edit("dose_mg: 5", "dose_mg: -5"), "dose_mg:", "treatment.dose_mg", ("got -5",),
                          ("greater than or equal to 0",)),
    "dose_a_word": Case(edit("dose_mg: 5", "dose_mg: five"), "dose_mg:", "treatment.dose_mg", ("'five'",),
                        ("valid number",)),
    "discontinuation_above_1000": Case(edit("discontinuation_rate_per_100py: 0",
                                            "discontinuation_rate_per_100py: 5000"), "discontinuation",
                                       "treatment.discontinuation_rate_per_100py", ("got 5000",),
                                       ("less than or equal to 1000",)),
    "taper_before_start": Case(edit("  dose_mg: 5", "  dose_mg: 5\n  glucocorticoid_taper: [{at_weeks: -1, "
                                    "max_band: none}]"), "glucocorticoid_taper",
                               "treatment.glucocorticoid_taper.0.at_weeks", ("got -1",),
                               ("greater than or equal to 0",)),
    "mortality_rate_above_1000": Case(edit("  rate_per_100py: 1.0", "  rate_per_100py: 2000"), "rate_per_100py: 2000",
                                      "mortality.rate_per_100py", ("got 2000",), ("less than or equal to 1000",)),
    "excess_mortality_with_a_constant_rate": Case(
        edit("  rate_per_100py: 1.0", "  rate_per_100py: 1.0\n  excess_mortality_ratio: 1.5"), "excess_mortality",
        "mortality.excess_mortality_ratio", ("got excess_mortality_ratio 1.5",), ("applies to a life_table",)),
    "excess_mortality_zero": Case(edit("  rate_per_100py: 1.0", "  excess_mortality_ratio: 0"), "excess_mortality",
                                  "mortality.excess_mortality_ratio", ("got 0",), ("greater than or equal to 0.001",)),
    "case_fatality_above_one": Case(edit("  rate_per_100py: 1.0", "  rate_per_100py: 1.0\n  case_fatality: "
                                         "{infection_a: 2}"), "case_fatality:",
                                    "mortality.case_fatality.infection_a", ("got 2",), ("less than or equal to 1",)),
    # ------------------------------------------------------------------------ cohort
    "mean_age_nan": Case(age("{distribution: truncated_normal, mean_years: .nan, sd_years: 10}"), "age:",
                         "cohort.age.mean_years", ("got nan",), ("less than or equal to 120",)),
    "age_sd_zero": Case(age("{distribution: truncated_normal, mean_years: 50, sd_years: 0}"), "age:",
                        "cohort.age.sd_years", ("got 0",), ("greater than 0",)),
    "age_window_without_mass": Case(age("{distribution: truncated_normal, mean_years: 5, sd_years: 1, "
                                        "min_years: 18, max_years: 90}"), "age:", "cohort.age.mean_years",
                                    ("of its mass in [18, 90]",), ("at least 1e-6 needed",)),
    "age_bands_empty": Case(age("{distribution: bands, bands: []}"), "age:", "cohort.age.bands", ("got []",),
                            ("at least one item",)),
    "age_without_distribution": Case(age("{mean_years: 50, sd_years: 10}"), "age:", "cohort.age",
                                     ("missing required key 'distribution'",), ("distribution",)),
    "age_a_word": Case(age("old"), "age:", "cohort.age", ("'old'",), ("valid dictionary",)),
    "indication_shares_not_one": Case(edit("  female: 0.5", "  female: 0.5\n  indication: {ra: 0.5, uc: 0.4}"),
                                      "indication:", "cohort.indication", ("add up to 0.9",), ("must add up to 1",)),
    "indication_share_unknown": Case(edit("  female: 0.5", "  female: 0.5\n  indication: {xx: 1.0}"),
                                     "indication:", "cohort.indication.xx", ("'xx'",), ("'ra', 'uc', 'psa'",)),
    "glucocorticoid_from_age_150": Case(edit("  female: 0.5", "  female: 0.5\n  glucocorticoid: {by_age: "
                                             "[{from_age_years: 150}]}"), "glucocorticoid:",
                                        "cohort.glucocorticoid.by_age.0.from_age_years", ("got 150",),
                                        ("less than or equal to 120",)),
    "cohort_a_list": Case(edit(AGE_AND_SEX + "\n", "  - 1\n"), "cohort:", "cohort", ("got [1]",),
                          ("valid dictionary",)),
    "age_advances_a_word": Case(edit("  female: 0.5", "  female: 0.5\n  age_advances: often"), "age_advances",
                                "cohort.age_advances", ("'often'",), ("valid boolean",)),
    # ------------------------------------------------------------------ cohort files
    "cohort_file_duplicate_column": cohort_file("age,sex,age\n50,F,3\n", ("column 'age' appears more than once",),
                                                ("give each column once",)),
    "cohort_file_duplicate_column_other_case": cohort_file("age,sex,Sex\n50,F,M\n", ("'sex' and 'Sex'",),
                                                           ("case is ignored",)),
    "cohort_file_wrong_extension": cohort_file("age,sex\n50,F\n", ("'patients.txt'",), ("must end in .csv or .parquet",),
                                               name="patients.txt"),
    "cohort_file_no_rows": cohort_file("age,sex\n", ("the table has no rows",), ("no rows",)),
    "cohort_file_female_two": cohort_file("age,female\n50,2\n", ("column 'female'", "row 1", "2"),
                                          ("0/1 or true/false",)),
    "cohort_file_unknown_band": cohort_file("age,sex,glucocorticoid_band\n50,F,high\n",
                                            ("column 'glucocorticoid_band'", "'high'"), ("below_7_5mg",)),
    "cohort_file_unknown_indication": cohort_file("age,sex,indication\n50,F,gout\n", ("column 'indication'", "'gout'"),
                                                  ("allowed: ad, as, psa, ra, uc",)),
    "cohort_file_empty_age": cohort_file("age,sex\n50,F\n,M\n", ("column 'age'", "row 2", "an empty value"),
                                         ("between 0 and 120",)),
    "cohort_file_utf16": cohort_file("age,sex\n50,F\n".encode("utf-16"), ("cannot read",), ("patients.csv",)),
    "cohort_file_not_parquet": cohort_file(b"PAR1 not really", ("cannot read",), ("patients.parquet",),
                                           name="patients.parquet"),
    # ------------------------------------------------------------------- life tables
    "life_table_utf16": life_table(LIFE_TABLE.encode("utf-16"), ("UTF-16 text",), ("save it as UTF-8",)),
    "life_table_not_utf8": life_table(b"age,male_qx,female_qx\n0,0.01,\xe90.01\n", ("not UTF-8 text", "line 2"),
                                      ("save it as UTF-8",)),
    "life_table_missing_column": life_table("age,male_qx\n0,0.01\n", ("missing column 'female_qx'",),
                                            ("age,male_qx,female_qx",)),
    "life_table_probability_above_one": life_table(LIFE_TABLE.replace("\n50,0.01,", "\n50,1.5,"),
                                                   ("male_qx", "got 1.5"), ("must lie in [0, 1]",)),
    "life_table_ages_not_consecutive": life_table(LIFE_TABLE.replace("\n50,0.01,0.01", "\n52,0.01,0.01"),
                                                  ("got 52 after 49",), ("consecutive integers",)),
    "life_table_not_a_number": life_table(LIFE_TABLE.replace("\n7,0.01,", "\n7,low,"), ("'low'",),
                                          ("must be a number",)),
    # --------------------------------------------------------------------- economics
    "baseline_utility_empty": econ("  baseline_utility: []\n", "baseline_utility", "economics.baseline_utility",
                                   ("got []",), ("at least one item",)),
    "willingness_to_pay_empty": econ("  willingness_to_pay: []\n", "willingness", "economics.willingness_to_pay",
                                     ("got []",), ("at least one item",)),
    "willingness_to_pay_negative": econ("  willingness_to_pay: [-1]\n", "willingness",
                                        "economics.willingness_to_pay.0", ("got -1",), ("greater than or equal to 0",)),
    "discount_rate_above_half": Case(MINIMAL + "economics:\n  discount: {costs: 2, outcomes: 0.03}\n", "discount:",
                                     "economics.discount.costs", ("got 2",), ("less than or equal to 0.5",)),
    "discount_preset_unknown": Case(MINIMAL + "economics:\n  discount: uk\n", "discount:", "economics.discount",
                                    ("'uk'",), ("'nice' or 'us'",)),
    "discount_rates_incomplete": Case(MINIMAL + "economics:\n  discount: {costs: 0.03}\n", "discount:",
                                      "economics.discount.outcomes", ("missing required key 'outcomes'",),
                                      ("costs, outcomes",)),
    "currency_unknown": econ("  currency: EUR\n", "currency:", "economics.currency", ("'EUR'",), ("'GBP' or 'USD'",)),
    "economics_for_a_type_not_simulated": econ("  events: {zz: {cost: 1}}\n", "events:", "economics.events.zz",
                                               ("zz",), ("allowed: infection_a, infection_b",)),
    "utility_above_one": econ("  baseline_utility: [{from_age_years: 0, utility: 1.2}]\n", "baseline_utility",
                              "economics.baseline_utility.0.utility", ("got 1.2",), ("less than or equal to 1",)),
    "drug_cost_negative": econ("  drug_cost_per_year: -10\n", "drug_cost", "economics.drug_cost_per_year",
                               ("got -10",), ("greater than or equal to 0",)),
    "price_year_ancient": econ("  price_year: 1066\n", "price_year", "economics.price_year", ("got 1066",),
                               ("greater than or equal to 1900",)),
    "arm_changes_the_currency": Case(MINIMAL + ECON + ARMS + "    economics: {currency: USD}\n",
                                     "economics: {currency: USD}", "arms.b.economics", ("arm 'b'",),
                                     ("every arm must use the reference arm's",)),
    # ------------------------------------------ glucocorticoid bands, csDMARD, region (issue 13)
    "glucocorticoid_two_and_four_band_mixed": Case(
        edit("  female: 0.5", "  female: 0.5\n  glucocorticoid: {below_7_5mg: 0.2, over_10mg: 0.1}"),
        "glucocorticoid:", "cohort.glucocorticoid.below_7_5mg", ("below_7_5mg", "over_10mg"),
        ("use up_to_5mg, over_5_to_10mg, over_10mg",)),
    "glucocorticoid_four_band_shares_above_one": Case(
        edit("  female: 0.5", "  female: 0.5\n  glucocorticoid: {up_to_5mg: 0.5, over_5_to_10mg: 0.4, over_10mg: 0.2}"),
        "glucocorticoid:", "cohort.glucocorticoid", ("got 1.1",), ("must not exceed 1",)),
    "glucocorticoid_band_unknown": Case(edit("  female: 0.5", "  female: 0.5\n  glucocorticoid: {over_20mg: 0.1}"),
                                        "glucocorticoid:", "cohort.glucocorticoid.over_20mg",
                                        ("unknown key 'over_20mg'",), ("up_to_5mg, over_5_to_10mg, over_10mg",)),
    "taper_band_unknown": Case(edit("  discontinuation_rate_per_100py: 0", "  discontinuation_rate_per_100py: 0\n"
                                    "  glucocorticoid_taper: [{at_weeks: 12, max_band: low}]"),
                               "glucocorticoid_taper:", "treatment.glucocorticoid_taper.0.max_band", ("'low'",),
                               ("'up_to_5mg'", "'over_10mg'")),
    "hazard_ratio_two_and_four_band_mixed": Case(
        rate("{rate_per_100py: 5.0, hazard_ratios: {glucocorticoid_below_7_5mg: 1.5, glucocorticoid_over_10mg: 2}}"),
        "infection_a:", "infections.infection_a.hazard_ratios.glucocorticoid_below_7_5mg",
        ("glucocorticoid_over_10mg",), ("cannot be mixed",)),
    "csdmard_share_above_one": Case(edit("  female: 0.5", "  female: 0.5\n  concomitant_csdmard: 1.5"),
                                    "concomitant_csdmard:", "cohort.concomitant_csdmard", ("got 1.5",),
                                    ("less than or equal to 1",)),
    "region_shares_not_one": Case(edit("  female: 0.5", "  female: 0.5\n  region: {japan: 0.5, north_america: 0.4}"),
                                  "region:", "cohort.region", ("add up to 0.9",), ("must add up to 1",)),
    "region_unknown": Case(edit("  female: 0.5", "  female: 0.5\n  region: {europe: 1.0}"), "region:",
                           "cohort.region.europe", ("'europe'",), ("'western_europe'", "'korea_taiwan'")),
    "region_and_asia_flag": Case(edit("  female: 0.5", "  female: 0.5\n  asia: 0.2\n  region: {japan: 1.0}"),
                                 "asia:", "cohort.asia", ("not both",), ("region sets asia",)),
    "region_hazard_ratio_of_unspecified": Case(
        rate("{rate_per_100py: 5.0, hazard_ratios: {region: {unspecified: 2.0}}}"), "infection_a:",
        "infections.infection_a.hazard_ratios.region.unspecified", ("'unspecified'",), ("1 by definition",)),
    "cohort_file_region_unknown": cohort_file("age,sex,region\n50,F,japan\n60,M,europe\n",
                                              ("column 'region', row 2", "'europe'"), ("korea_taiwan", "rest_of_world")),
    "cohort_file_region_contradicts_asia": cohort_file("age,sex,region,asia\n50,F,japan,0\n",
                                                       ("row 1", "region 'japan' contradicts asia = 0"),
                                                       ("give asia 1 exactly for japan",)),
    "cohort_file_glucocorticoid_band_unknown": cohort_file("age,sex,glucocorticoid_band\n50,F,high\n",
                                                           ("column 'glucocorticoid_band', row 1", "'high'"),
                                                           ("over_5_to_10mg", "below_7_5mg")),
    "correlation_unknown_characteristic": Case(
        edit("  female: 0.5", "  female: 0.5\n  correlation: {variables: [age, smoker], matrix: [[1, 0.2], [0.2, 1]]}"),
        "correlation:", "cohort.correlation.variables.1", ("'smoker'",), ("'age'", "'glucocorticoid'")),
    "correlation_matrix_wrong_size": Case(
        edit("  female: 0.5", "  female: 0.5\n  correlation: {variables: [age, female, diabetes], matrix: [[1, 0.2], "
             "[0.2, 1]]}"), "correlation:", "cohort.correlation.matrix", ("2 rows for 3 variables",),
        ("one row per variable",)),
    "correlation_diagonal_not_one": Case(
        edit("  female: 0.5", "  female: 0.5\n  correlation: {variables: [age, female], matrix: [[1, 0.2], [0.2, 0.9]]}"),
        "correlation:", "cohort.correlation.matrix.1.1", ("got 0.9 for female",), ("diagonal must be 1",)),
    "correlation_age_bands": Case(
        edit(AGE, "{distribution: bands, bands: [{min_years: 20, max_years: 80, share: 1}]}\n"
             "  correlation: {variables: [age, female], matrix: [[1, 0.2], [0.2, 1]]}"),
        "correlation:", "cohort.correlation.variables.0", ("age bands",), ("needs a truncated_normal age",)),
    # ------------------------------------------------------------------- vaccination
    "vaccine_unknown": vacc("  vaccine: mrna\n", "vaccine:", "vaccination.vaccine", ("'mrna'",),
                            ("'recombinant' or 'live'",)),
    "live_vaccine_on_treatment": vacc("  vaccine: live\n  first_dose_weeks: 0\n", "first_dose_weeks",
                                      "vaccination.first_dose_weeks", ("got 0",), ("first_dose_weeks <= -4",)),
    "live_vaccine_second_dose": vacc("  vaccine: live\n  second_dose_interval_weeks: 8\n", "second_dose",
                                     "vaccination.second_dose_interval_weeks", ("single dose",),
                                     ("remove second_dose_interval_weeks",)),
    "uptake_above_one": vacc("  vaccine: recombinant\n  uptake: 1.5\n", "uptake:", "vaccination.uptake",
                             ("got 1.5",), ("less than or equal to 1",)),
    "clinic_slots_negative": vacc("  vaccine: recombinant\n  clinic: {slots_per_week: -1}\n", "clinic:",
                                  "vaccination.clinic.slots_per_week", ("got -1",), ("greater than or equal to 0",)),
    "second_dose_after_two_years": vacc("  vaccine: recombinant\n  second_dose_interval_weeks: 200\n", "second_dose",
                                        "vaccination.second_dose_interval_weeks", ("got 200",),
                                        ("less than or equal to 104",)),
    "efficacy_multiplier_above_one": vacc("  vaccine: recombinant\n  efficacy_multiplier: 2\n", "efficacy",
                                          "vaccination.efficacy_multiplier", ("got 2",), ("less than or equal to 1",)),
    "eligibility_unknown_key": vacc("  vaccine: recombinant\n  eligible: {age: 50}\n", "eligible:",
                                    "vaccination.eligible.age", ("unknown key 'age'",), ("min_age_years",)),
    # -------------------------------------------------------------------------- arms
    "arm_name_with_a_space": Case(MINIMAL + "arms:\n  'a b': {}\n", "a b", "arms.a b", ("'a b'",),
                                  ("letters, digits",)),
    "arm_name_emoji_code": Case(MINIMAL + "arms:\n  ':thumbs_up:': {}\n", ":thumbs_up:", "arms.:thumbs_up:",
                                ("':thumbs_up:'",), ("letters, digits",)),
    "arms_empty": Case(MINIMAL + "arms: {}\n", "arms:", "arms", ("got dict {}",), ("mapping of arm name",)),
    "arm_a_list": Case(MINIMAL + "arms:\n  a: [1]\n", "a: [1]", "arms.a", ("got [1]",), ("mapping of overrides",)),
    "arm_given_twice": Case(MINIMAL + "arms:\n  a: {}\n  a: {}\n", 19, "arms.a", ("duplicate key 'a'",),
                            ("give each key once",)),
    "arm_bad_rate": Case(MINIMAL + ARMS + "    infections: {infection_a: {rate_per_100py: -1}}\n", "rate_per_100py: -1",
                         "arms.b.infections.infection_a.rate_per_100py", ("got -1.0",), ("at most 1000",)),
    "arm_bad_vaccination": Case(MINIMAL + ARMS + "    vaccination: {vaccine: live, first_dose_weeks: 0}\n",
                                "vaccine: live", "arms.b.vaccination.first_dose_weeks", ("got 0",),
                                ("contraindicated",)),
}


def test_the_catalogue_covers_at_least_100_kinds():
    assert not set(MORE) & set(CASES)
    assert len(CASES) + len(MORE) >= 100, len(CASES) + len(MORE)


@pytest.mark.parametrize("name", MORE)
def test_validate_rejects(name, tmp_path, capsys):
    case = MORE[name]
    scenario = case.write(tmp_path)
    assert main(["validate", str(scenario)]) == 2
    captured = capsys.readouterr()
    check_one_line_error(captured.err, case, scenario)
    assert captured.out == ""


@pytest.mark.parametrize("name", MORE)
def test_run_rejects_and_writes_nothing(name, tmp_path, capsys):
    case = MORE[name]
    scenario = case.write(tmp_path)
    out = tmp_path / "results" / "out"
    argv = ["run", str(scenario), "--out", str(out)]
    if "n_patients" not in (case.path or ""):
        argv += ["--n-patients", "50"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    check_one_line_error(captured.err, case, scenario)
    assert leftovers(out) == []
    assert not [p for p in (tmp_path / "results").rglob("*") if p.is_file()]     # no lock or file left
