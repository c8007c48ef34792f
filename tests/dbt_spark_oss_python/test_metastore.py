"""One dbt process at a time on an embedded Derby metastore; the second fails at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbt_spark_oss_python import metastore
from dbt_spark_oss_python.metastore import (
    CONNECTION_URL,
    MetastoreInUseError,
    embedded_metastore,
    lock_embedded_metastore,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("jdbc:derby:;databaseName=/x/spark/metastore_db;create=true", "/x/spark/metastore_db"),
        ("jdbc:derby:/x/db;create=true", "/x/db"),
        (None, str(Path.cwd() / "metastore_db")),  # Hive's default
        ("jdbc:derby://host:1527/db", None),  # a Derby server admits many processes
        ("jdbc:mysql://host/metastore", None),
        ("jdbc:derby:memory:db;create=true", None),
    ],
)
def test_embedded_metastore(url: str | None, expected: str | None) -> None:
    params = {CONNECTION_URL: url} if url else {}
    found = embedded_metastore(params)
    assert (str(found) if found else None) == expected


def test_a_second_process_is_refused_at_once_naming_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "spark" / "metastore_db"
    params = {CONNECTION_URL: f"jdbc:derby:;databaseName={database};create=true"}
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys\n"
            "from dbt_spark_oss_python.metastore import lock_embedded_metastore\n"
            f"lock_embedded_metastore({params!r})\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        monkeypatch.setattr(metastore, "_held", {})
        with pytest.raises(MetastoreInUseError) as raised:
            lock_embedded_metastore(params)
        assert str(raised.value.msg).startswith(
            f"The Hive metastore {database} is in use by another process (pid {holder.pid}): "
        )
    finally:
        holder.communicate("", timeout=30)
    # The holder ended, so its lock went with it; this process takes it (and keeps it).
    assert lock_embedded_metastore(params) == tmp_path / "spark" / "metastore_db.lock"
    assert lock_embedded_metastore(params) == tmp_path / "spark" / "metastore_db.lock"
