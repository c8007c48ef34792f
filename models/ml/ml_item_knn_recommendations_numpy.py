"""Item-kNN lists of the tuned cell with sparse products (var `knn_engine: numpy`, the default).

The rows of the SQL definition (`ml_item_knn_recommendations`, doc `item_knn`): evaluation
lists fitted on train + validation, served lists fitted on every validated rating, computed
on the driver (python_jobs/item_knn.py). `ml_item_knn_recommendations` is then a view of
this table.
"""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.recommender_lists_table(
        recommender="item_knn",
        splits=dbt.ref("ml_rating_splits"),
        ratings=dbt.ref("int_ratings_validated"),
        tuning_table=dbt.ref("ml_item_knn_tuning"),
        fixed={"min_raters": dbt.config.get("min_co_raters")},
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
    )
