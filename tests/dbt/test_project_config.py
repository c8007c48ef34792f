"""Each dbt setting has one home: these tests read the project's files, no Spark, no dbt run."""

from __future__ import annotations

import re

import yaml

from tests.support import PROJECT_ROOT

DBT_PROJECT = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
# Model files whose config() must not set a materialization (folder default or model YAML).
MODEL_SUFFIXES = (".sql",)


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
