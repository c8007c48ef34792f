"""Typed vars (macros/check_vars.sql): a bad value stops dbt at once, in one line, unbuilt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import PROJECT_ROOT, DbtRun, run_dbt

CHECK_VARS = PROJECT_ROOT / "macros" / "check_vars.sql"
# One bad value per kind of var_kinds() (and per way of being bad), with what is expected.
BAD_VALUES = {
    "top_n": ("2.5", "a positive integer"),
    "implicit_max_iter": ("true", "a positive integer"),
    "stratified_seed": ('"7"', "an integer"),
    "max_reject_share": ("1.5", "a number in [0, 1]"),
    "min_similarity": (".inf", "a number in [0, 1]"),
    "stratified_train_share": ("1", "a number in (0, 1), both ends excluded"),
    "als_ranks": ("[8, 0]", "a non-empty list of positive integers"),
    "knn_neighbours": ("5", "a non-empty list of positive integers"),
    "knn_min_co_raters": ("[]", "a non-empty list of positive integers"),
    "als_reg_params": ("[0.1, -0.1]", "a non-empty list of numbers >= 0"),
    "ease_lambdas": ("[.nan]", "a non-empty list of numbers > 0"),
    "similarity_ease_lambda": ("[4000]", "a number > 0"),
    "als_split_weights": ("[0.5, 0.5]", "a list of 3 positive numbers (train, validation, test)"),
    "movielens_layout": ("ml-20m", "one of auto, ml-latest, ml-1m, ml-10m, ml-100k"),
    "pair_join": ("true", "one of broadcast, shuffle"),
    "pair_engine": ("fast", "one of auto, sql, blocked"),
    "knn_engine": ("pandas", "one of auto, sql, numpy"),
    "evaluation_protocol": ("random", "one of stratified, seed"),
    "movielens_path": ('""', "null or a non-empty string"),
    "movielens_raw_schema": ('"a-b"', "null or a schema name (letters, digits, _)"),
}
# Good values given at the same time, which must not be reported.
GOOD_VALUES = {"min_co_raters": "1", "implicit_alphas": "[0.5, 2]", "als_seed": "-3"}
# How check_vars() prints a value (JSON), for the values above that YAML reads differently.
SHOWN = {"true": "true", ".inf": "Infinity", "[.nan]": "[NaN]", "ml-20m": '"ml-20m"'}
SHOWN |= {"random": '"random"', "fast": '"fast"', "pandas": '"pandas"'}


def var_kinds() -> dict[str, str]:
    """The rows of var_kinds(), read from the macro's text."""
    body = CHECK_VARS.read_text().split("{% macro var_kinds() %}", 1)[1].split("{% endmacro %}")[0]
    return dict(re.findall(r"^\s+'(\w+)': ('\w+'|\[[^\]]*\]),$", body, re.M))


def vars_read_by_dbt() -> set[str]:
    names: set[str] = set()
    for folder in ("models", "macros", "data_tests"):
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix in {".sql", ".yml", ".py"} and path != CHECK_VARS:
                names |= set(re.findall(r"\bvar\(\s*['\"](\w+)['\"]", path.read_text()))
    return names


def test_every_var_has_a_kind() -> None:
    kinds = var_kinds()
    declared = set(yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"])
    missing = sorted((declared | vars_read_by_dbt()) - set(kinds))
    assert not missing, f"add a row to var_kinds() in macros/check_vars.sql for: {missing}"
    assert set(BAD_VALUES) | set(GOOD_VALUES) <= set(kinds)
    tested = {kinds[name] for name in BAD_VALUES}
    assert tested == set(kinds.values()), (
        f"kinds without a bad value here: {set(kinds.values()) - tested}"
    )


def build_with(tmp_path: Path, values: dict[str, str]) -> DbtRun:
    given = "{" + ", ".join(f"{name}: {value}" for name, value in values.items()) + "}"
    return run_dbt(
        ["build", "--vars", given],
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
        env={"DBT_USE_COLORS": "false"},
        timeout=120,
    )


def assert_stopped_before_anything(run: DbtRun) -> list[str]:
    """dbt failed while parsing: no node started, no Spark driver ran. Returns the var lines."""
    assert run.returncode == 2, run.output[-2000:]
    assert " START " not in run.output
    assert not run.spark_dir.exists(), "Spark started: the warehouse directory was created"
    return [line.strip() for line in run.output.splitlines() if "Invalid var" in line]


@pytest.mark.dbt
def test_a_mistyped_top_n_fails_at_once_in_one_line(tmp_path: Path) -> None:
    run = build_with(tmp_path, {"top_n": '"1/0"'})
    lines = assert_stopped_before_anything(run)
    assert lines == ['Invalid var top_n = "1/0": expected a positive integer']


@pytest.mark.dbt
def test_one_bad_value_per_kind_each_named_with_its_value_and_kind(tmp_path: Path) -> None:
    run = build_with(tmp_path, {**{k: v for k, (v, _) in BAD_VALUES.items()}, **GOOD_VALUES})
    lines = assert_stopped_before_anything(run)
    assert len(lines) == 1, lines
    parts = lines[0].removeprefix("Invalid var ").split("; invalid var ")
    reported = {part.split(" = ", 1)[0]: part for part in parts}
    assert set(reported) == set(BAD_VALUES), lines[0]
    for name, (value, expected) in BAD_VALUES.items():
        assert reported[name] == f"{name} = {SHOWN.get(value, value)}: expected {expected}"
