"""python_jobs.defaults and the vars of dbt_project.yml give every setting the same default."""

from __future__ import annotations

import yaml

from python_jobs import defaults
from tests.support import PROJECT_ROOT

# dbt var -> the constant of python_jobs.defaults that carries its default.
VAR_CONSTANTS = {
    "evaluation_protocol": "EVALUATION_PROTOCOL",
    "stratified_train_share": "STRATIFIED_TRAIN_SHARE",
    "stratified_validation_share": "STRATIFIED_VALIDATION_SHARE",
    "stratified_seed": "STRATIFIED_SEED",
    "validation_carvings": "VALIDATION_CARVINGS",
    "als_split_weights": "SEED_SPLIT_WEIGHTS",
    "als_seed": "SEED",
    "top_n": "TOP_N",
    "als_ranks": "ALS_RANKS",
    "als_reg_params": "ALS_REG_PARAMS",
    "als_max_iter": "ALS_MAX_ITER",
    "implicit_ranks": "IMPLICIT_RANKS",
    "implicit_reg_params": "IMPLICIT_REG_PARAMS",
    "implicit_alphas": "IMPLICIT_ALPHAS",
    "implicit_max_iter": "IMPLICIT_MAX_ITER",
    "ease_lambdas": "EASE_LAMBDAS",
    "ease_max_movies": "EASE_MAX_MOVIES",
    "knn_neighbours": "KNN_NEIGHBOURS",
    "knn_min_co_raters": "KNN_MIN_CO_RATERS",
    "metric_curve_max_k": "METRIC_CURVE_MAX_K",
    "tuning_max_users": "TUNING_MAX_USERS",
    "blend_depth": "BLEND_DEPTH",
}


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def test_every_python_default_equals_its_dbt_var():
    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    differing = {
        var: (project_vars.get(var, "<missing>"), getattr(defaults, constant))
        for var, constant in VAR_CONSTANTS.items()
        if _plain(project_vars.get(var)) != _plain(getattr(defaults, constant))
    }
    assert differing == {}, f"dbt_project.yml var vs python_jobs.defaults: {differing}"


def test_every_constant_is_mapped_to_a_var():
    # PROTOCOLS lists the values evaluation_protocol accepts; the ALS block count is not a
    # var (the grid and the saved model must share it).
    constants = {name for name in vars(defaults) if name.isupper()}
    assert constants - set(VAR_CONSTANTS.values()) == {"PROTOCOLS", "ALS_NUM_BLOCKS"}
