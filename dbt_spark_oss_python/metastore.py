"""One dbt process at a time on an embedded Derby metastore, or a one-line error at once.

A ``method: session`` target keeps its Hive metastore in an embedded Derby database, which
one JVM can open at a time. A second dbt command on the same database used to fail deep in
Hive's metastore client, after retries, with Java stack traces. Here the first dbt process
that opens a connection takes an exclusive lock on ``<database>.lock`` beside the database,
held until the process ends (the kernel releases it however the process ends, ``kill -9``
included), and a second process fails before it starts a JVM, saying which database is in
use and by which process.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from dbt_common.exceptions import DbtRuntimeError

__all__ = ["MetastoreInUseError", "embedded_metastore", "lock_embedded_metastore"]

CONNECTION_URL = "spark.hadoop.javax.jdo.option.ConnectionURL"
# What Hive uses when no connection URL is configured: a database in the working directory.
DEFAULT_URL = "jdbc:derby:;databaseName=metastore_db;create=true"

_held: dict[Path, IO[str]] = {}
_guard = threading.Lock()


class MetastoreInUseError(DbtRuntimeError):
    """Another process holds the embedded metastore this dbt command needs."""


def embedded_metastore(server_side_parameters: Mapping[str, Any]) -> Path | None:
    """The embedded Derby database a session's metastore opens, or None (e.g. a server)."""
    url = str(server_side_parameters.get(CONNECTION_URL) or DEFAULT_URL)
    if not url.startswith("jdbc:derby:") or url.startswith("jdbc:derby://"):
        return None
    spec = url[len("jdbc:derby:") :]
    named = re.search(r"(?:^|;)databaseName=([^;]+)", spec)
    name = named.group(1) if named else spec.split(";", 1)[0]
    return Path(name).absolute() if name and not name.startswith("memory:") else None


def lock_embedded_metastore(server_side_parameters: Mapping[str, Any]) -> Path | None:
    """Hold ``<database>.lock`` for this process's lifetime; raise if another process does.

    Returns the lock file (None when the metastore is not an embedded Derby database).
    Idempotent within a process.

    Raises
    ------
    MetastoreInUseError
        When another process holds the lock: one line naming the database and that process.
    """
    database = embedded_metastore(server_side_parameters)
    if database is None:
        return None
    lock_path = database.with_name(database.name + ".lock")
    with _guard:
        if lock_path in _held:
            return lock_path
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            by = f" (pid {holder})" if holder.isdigit() else ""
            raise MetastoreInUseError(
                f"The Hive metastore {database} is in use by another process{by}: its "
                "embedded Derby database admits one process at a time. Wait for that command "
                "to end, or give this one its own MOVIELENS_SPARK_DIR."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held[lock_path] = handle
    return lock_path
