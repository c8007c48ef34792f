"""Every validated rating labelled train / validation / test under `evaluation_protocol`."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.split_table(
        ratings=dbt.ref("int_ratings_validated"),
        protocol=dbt.config.get("protocol"),
        weights=dbt.config.get("split_weights"),
        seed=dbt.config.get("seed"),
        train_share=dbt.config.get("train_share"),
        validation_share=dbt.config.get("validation_share"),
        stratified_seed=dbt.config.get("stratified_seed"),
        carvings=dbt.config.get("carvings"),
    )
