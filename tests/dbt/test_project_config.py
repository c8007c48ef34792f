"""Each dbt setting has one home: these tests read the project's files, no Spark, no dbt run."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from tests.support import PROJECT_ROOT, dbt_rendered_local_target

DBT_PROJECT = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
# Model files whose config() must not set a materialization (folder default or model YAML).
MODEL_SUFFIXES = (".sql", ".py")


def test_materialization_is_set_per_folder_and_overridden_only_in_yaml() -> None:
    setting = re.compile(r"materialized\s*=")
    in_code = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "models").rglob("*")
        if path.suffix in MODEL_SUFFIXES and setting.search(path.read_text())
    )
    assert in_code == [], (
        "set the materialization in dbt_project.yml (per folder) or in the model's YAML "
        f"config (an override, with the reason in its description), not in: {in_code}"
    )


def test_a_yaml_override_differs_from_its_folder_and_says_why() -> None:
    folders = DBT_PROJECT["models"]["movielens"]
    overrides = {}
    for path in (PROJECT_ROOT / "models").rglob("*.yml"):
        folder = path.relative_to(PROJECT_ROOT / "models").parts[0]
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            chosen = (model.get("config") or {}).get("materialized")
            if chosen is not None:
                overrides[model["name"]] = (folder, chosen, model.get("description", ""))
    assert overrides, "no model overrides its folder's materialization: is this test stale?"
    for name, (folder, chosen, description) in overrides.items():
        default = folders[folder]["+materialized"]
        assert chosen != default, f"{name}: materialized {chosen} repeats the {folder} default"
        assert re.search(rf"\b{chosen}\b", description, re.I), (
            f"{name} is a {chosen} unlike the {folder} folder; its description must say why"
        )


# --------------------------------------------------------------------------- vars

CONFIGURATION_DOC = PROJECT_ROOT / "docs" / "configuration.md"
PROFILE = PROJECT_ROOT / "profiles" / "profiles.yml"
# A var read in a model, macro, test or selector: var('name') or var('name', default).
VAR_CALL = re.compile(r"""\bvar\(\s*['"](\w+)['"]\s*(?:,\s*([^)]*?)\s*)?\)""")
ENV_VAR_CALL = re.compile(r"""\benv_var\(\s*'(\w+)'\s*,\s*'([^']*)'\s*\)""")


def doc_table(heading: str) -> dict[str, str]:
    """First column -> second column of the table under ``## heading``, backticks stripped."""
    section = CONFIGURATION_DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows[cells[0].strip("`")] = cells[1]
    return rows


def yaml_flow(value: object) -> str:
    """``value`` as one line of YAML, as the doc writes a default."""
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def test_the_vars_doc_lists_every_var_with_the_project_default() -> None:
    declared = DBT_PROJECT["vars"]
    documented = {}
    for name, cell in doc_table("Vars").items():
        assert re.fullmatch(r"`[^`]*`", cell), f"{name}: write the default as `yaml`, got {cell}"
        documented[name] = yaml.safe_load(cell.strip("`"))
    problems = [
        f"{name}: in dbt_project.yml but not in docs/configuration.md; add the row "
        f"| `{name}` | `{yaml_flow(value)}` | <meaning> |"
        for name, value in declared.items()
        if name not in documented
    ]
    problems += [
        f"{name}: in docs/configuration.md but not declared in dbt_project.yml"
        for name in documented
        if name not in declared
    ]
    problems += [
        f"{name}: default {declared[name]!r} in dbt_project.yml, {documented[name]!r} in "
        "docs/configuration.md"
        for name in declared
        if name in documented and documented[name] != declared[name]
    ]
    assert problems == [], "\n".join(problems)
    assert list(documented) == list(declared), "list the vars in dbt_project.yml's order"


def var_calls() -> list[tuple[str, str, str | None]]:
    """(file, var, default as written or None) for every var() read by dbt."""
    files = [PROJECT_ROOT / "dbt_project.yml", PROJECT_ROOT / "selectors.yml"]
    for folder in ("models", "macros", "data_tests", "seeds"):
        files += [
            path
            for path in (PROJECT_ROOT / folder).rglob("*")
            if path.suffix in {".sql", ".yml", ".py", ".md"}
        ]
    calls = []
    for path in files:
        for name, default in VAR_CALL.findall(path.read_text()):
            calls.append((str(path.relative_to(PROJECT_ROOT)), name, default or None))
    return calls


def test_every_var_read_is_declared_and_any_default_in_code_agrees() -> None:
    declared = DBT_PROJECT["vars"]
    calls = var_calls()
    assert {name for _, name, _ in calls} >= {"movielens_path", "top_n", "als_seed"}
    problems = []
    for path, name, default in calls:
        if name not in declared:
            problems.append(f"{path} reads var {name!r}, which dbt_project.yml does not declare")
        elif default is not None:
            literal = {"none": None, "true": True, "false": False}.get(default, default)
            value = yaml.safe_load(literal) if isinstance(literal, str) else literal
            if value != declared[name]:
                problems.append(
                    f"{path}: var({name!r}, {default}) disagrees with dbt_project.yml's "
                    f"{declared[name]!r}; drop the default in code"
                )
    assert problems == [], "\n".join(problems)


def test_the_environment_doc_gives_the_profile_defaults() -> None:
    profile_defaults = dict(ENV_VAR_CALL.findall(PROFILE.read_text()))
    documented = doc_table("Environment variables")
    text = CONFIGURATION_DOC.read_text()
    assert [name for name in profile_defaults if f"`{name}`" not in text] == []
    differing = {
        name: (cell, profile_defaults[name])
        for name, cell in documented.items()
        if name in profile_defaults
        and cell.startswith("`")
        and cell.split("`")[1] != profile_defaults[name]
    }
    assert differing == {}, "doc default vs profile default"


# --------------------------------------------------------------------------- Spark settings


def test_the_spark_sql_properties_are_the_local_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """``spark-sql --properties-file profiles/spark-sql.conf``: the local target's settings."""
    for name in ("MOVIELENS_SPARK_DIR", "SPARK_DRIVER_JAVA_OPTIONS", "MOVIELENS_JVM_ARCHIVE"):
        monkeypatch.delenv(name, raising=False)
    profile = dbt_rendered_local_target(os.environ)
    properties = {}
    for line in (PROJECT_ROOT / "profiles" / "spark-sql.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            properties[key] = value.strip()
    options = "spark.driver.extraJavaOptions"
    assert {k: v for k, v in properties.items() if k != options} == {
        k: profile[k] for k in properties if k != options
    }
    missing = set(properties[options].split()) - set(profile[options].split())
    assert missing == set(), f"JVM options of spark-sql.conf the profile does not have: {missing}"
