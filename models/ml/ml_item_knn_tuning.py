"""Item-kNN: one row per (neighbours, co-rater floor) cell, scored on the validation split."""

from python_jobs import tuning


def model(dbt, session):
    splits = dbt.ref("ml_rating_splits")
    # The lists' `k` (neighbours) is renamed: the metrics table's `k` is their cut-off.
    lists = dbt.ref("int_item_knn_validation_lists").withColumnRenamed("k", "num_neighbours")
    return tuning.ranking_grid_table(
        lists=lists,
        relevant=splits.where(splits.split == "validation").select("user_id", "movie_id"),
        cell_columns=["num_neighbours", "min_co_raters"],
        k=dbt.config.get("top_n"),
        recommender="item_knn",
    )
