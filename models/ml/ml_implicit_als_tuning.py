"""Implicit-feedback ALS: one row per grid cell, fitted on train, scored on validation."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.recommender_tuning_table(
        recommender="implicit_als",
        splits=dbt.ref("ml_rating_splits"),
        grid={
            "rank": dbt.config.get("ranks"),
            "reg_param": dbt.config.get("reg_params"),
            "alpha": dbt.config.get("alphas"),
        },
        fixed={"max_iter": dbt.config.get("max_iter"), "seed": dbt.config.get("seed")},
        top_n=dbt.config.get("top_n"),
        max_users=dbt.config.get("max_users"),
    )
