"""A table of the local warehouse read straight from its files, without a Spark session.

The build writes most tables as parquet and the pair tables and ``fct_movie_similarities``
as ORC (their ``file_format`` in dbt_project.yml); readers outside Spark (the benchmarks,
the tests) find the format from the files, so a table's config can change without them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.dataset


def read_table_files(path: Path) -> pd.DataFrame:
    """The rows of the table whose files Spark wrote under ``path``, ORC or parquet."""
    if any(path.glob("*.orc")):
        return pyarrow.dataset.dataset(path, format="orc").to_table().to_pandas()
    return pd.read_parquet(path)


__all__ = ["read_table_files"]
