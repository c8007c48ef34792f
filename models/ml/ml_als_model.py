"""The chosen ALS model, refit on the training split and saved; one registry row."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.fit_best_model(
        session=session,
        splits=dbt.ref("ml_rating_splits"),
        grid=dbt.ref("ml_als_grid_search"),
        max_iter=dbt.config.get("max_iter"),
        seed=dbt.config.get("seed"),
    )
