"""Every tag-genome movie's nearest genome movies by the cosine of their relevance vectors."""

from python_jobs import genome


def model(dbt, session):
    return genome.genome_neighbours_table(
        dbt.ref("stg_movielens__genome_scores"), k=dbt.config.get("neighbours")
    )
