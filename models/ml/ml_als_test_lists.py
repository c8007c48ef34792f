"""The ALS seed's model's test-time lists, scored once for the evaluation and the curves."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.als_test_lists_table(
        splits=dbt.ref("ml_rating_splits"),
        registry=dbt.ref("ml_als_model"),
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
    )
