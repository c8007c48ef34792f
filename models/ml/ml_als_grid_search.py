"""The ALS seed's grid search: one row per (rank, regParam) with its RMSEs."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.grid_search_table(
        splits=dbt.ref("ml_rating_splits"),
        ranks=dbt.config.get("ranks"),
        reg_params=dbt.config.get("reg_params"),
        max_iter=dbt.config.get("max_iter"),
        seed=dbt.config.get("seed"),
    )
