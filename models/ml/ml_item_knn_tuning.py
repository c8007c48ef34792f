"""Item-kNN: one row per (neighbours, co-rater floor) cell, scored on the validation split."""

from python_jobs import scopes, tuning


def model(dbt, session):
    splits = dbt.ref("ml_rating_splits")
    # The lists' `k` (neighbours) is renamed: the metrics table's `k` is their cut-off.
    lists = dbt.ref("int_item_knn_validation_lists").withColumnRenamed("k", "num_neighbours")
    return tuning.ranking_grid_table(
        lists=lists,
        # carving 0's validation ratings of the users the lists were made for (all, or the
        # sample of tuning_max_users)
        relevant=scopes.relevant(
            scopes.Scope(scopes.TUNING, 0), splits, dbt.config.get("max_users")
        ),
        cell_columns=["num_neighbours", "min_co_raters"],
        k=dbt.config.get("top_n"),
        recommender="item_knn",
    )
