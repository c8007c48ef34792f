"""The item-kNN tuning grid's lists with sparse products (var `knn_engine: numpy`, the default).

The rows of the SQL definition (`item_knn_lists`, macros/item_knn.sql), computed on the
driver from the training ratings (python_jobs/item_knn.py says how, and why it is the same
computation). `int_item_knn_validation_lists` is then a view of this table.
"""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.item_knn_validation_lists_table(
        splits=dbt.ref("ml_rating_splits"),
        neighbour_counts=dbt.config.get("knn_neighbours"),
        floors=dbt.config.get("knn_min_co_raters"),
        min_co_raters=dbt.config.get("min_co_raters"),
        top_n=dbt.config.get("top_n"),
    )
