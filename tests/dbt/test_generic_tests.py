"""The generic test unique_combination_of_columns (macros/generic_tests.sql) returns every
repeated key with its number of rows, missing values included, with and without
``small_groups``.

The macro is compiled by dbt as the project ships it, then run on Spark over a small table
whose repeated keys pandas counts independently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support import assert_dbt_ok, run_dbt

pytestmark = pytest.mark.dbt

# (1, 2) and (null, 1) twice, (3, null) three times; a = 1, 3 three times, 2 and null twice.
ROWS = [(1, 1), (1, 2), (1, 2), (2, 1), (None, 1), (None, 1), (3, None), (3, None), (3, None)]
ROWS += [(4, None), (2, 2), (5, 5)]


def compiled_unique_tests(tmp_path: Path) -> list[str]:
    """The macro's SQL over the view `dup_keys`: by (a, b), by (a) alone, and by (a, b) and
    (a) with small_groups."""
    calls = [
        "{{ test_unique_combination_of_columns(model='dup_keys', "
        f"combination_of_columns={columns}, small_groups={small_groups}) }}}}"
        for small_groups in (False, True)
        for columns in (["a", "b"], ["a"])
    ]
    run = run_dbt(
        ["compile", "--inline", "\n;\n".join(calls)],
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
    )
    assert_dbt_ok(run)
    compiled = run.output.split("Compiled inline node is:", 1)[1]
    return [sql.strip() for sql in compiled.split(";")]


def as_key(values) -> tuple:
    return tuple(None if pd.isna(v) else int(v) for v in values)


def test_unique_combination_of_columns_returns_each_repeated_key(spark, tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS, columns=["a", "b"], dtype="Int64")
    spark.createDataFrame(ROWS, "a int, b int").createOrReplaceTempView("dup_keys")
    by_pair, by_a, by_pair_small_groups, by_a_small_groups = compiled_unique_tests(tmp_path)
    assert "collect_list" in by_pair_small_groups and "collect_list" not in by_pair
    # (1, 2), (null, 1), (3, null); and 1, 2, 3, null
    for sql, columns, repeated in [
        (by_pair, ["a", "b"], 3),
        (by_a, ["a"], 4),
        (by_pair_small_groups, ["a", "b"], 3),
        (by_a_small_groups, ["a"], 4),
    ]:
        sizes = frame.groupby(columns, dropna=False).size()  # missing values are one group
        expected = {as_key(k if len(columns) > 1 else (k,)): n for k, n in sizes.items() if n > 1}
        assert len(expected) == repeated
        failures = spark.sql(sql).toPandas()
        found = failures[[*columns, "occurrences"]].itertuples(index=False)
        assert {as_key(row[:-1]): row[-1] for row in found} == expected
