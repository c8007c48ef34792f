"""The local driver's JIT, picked by the size of the input (``movielens_path``).

The ``local`` target's default ``SPARK_DRIVER_JAVA_OPTIONS`` stops the JIT at its quick tier:
on two cores the optimizing compiler's work does not pay back within a build of laptop-sized
data, but it does on large data (docs/startup.md has the measurements). So when the user has
not set ``SPARK_DRIVER_JAVA_OPTIONS`` and the ratings under the var ``movielens_path`` take at
least ``FULL_JIT_RATINGS_BYTES``, the quick-tier options leave the driver's options before
the JVM starts and ``LARGE_INPUT_OPTIONS`` join them. A ``SPARK_DRIVER_JAVA_OPTIONS`` the user
sets always wins.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from python_jobs.datasets.layouts import LAYOUTS

QUICK_TIER_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=256m")
# HotSpot compiler directives: the optimizing compiler (C2) leaves alone the code that runs
# once a statement or a task rather than once a row (Janino compiling the generated code,
# the SQL parser, the analyzer and optimizer, class loading, task serialization, the
# metastore). Those methods stay with the quick compiler. At 1M ratings this took C2's
# compile time from 33 s to 22 s and the build from 94.6 to 85.7 busy core-seconds
# (docs/benchmarks.md). One exception to "not once a row": regular expressions, which the
# ratings' control-character check runs on each line; the build was no slower with them.
JIT_DIRECTIVES = Path(__file__).with_name("jit_directives.json")
# With the full JIT: compile a method after 3x the default invocations (the two compilers
# spent a third of the CPU of a 1M-rating build), collect with the parallel collector
# instead of G1 (together 1.05x on that build), and the directives above.
LARGE_INPUT_OPTIONS = (
    "-XX:CompileThresholdScaling=3",
    "-XX:+UseParallelGC",
    "-XX:+UnlockDiagnosticVMOptions",
    f"-XX:CompilerDirectivesFile={JIT_DIRECTIVES}",
)
DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
USER_OPTIONS_ENV = "SPARK_DRIVER_JAVA_OPTIONS"
# About 400k ratings: between ml-latest-small's 100k (2.4 MB, quick tier 27% faster) and 1M
# generated ratings (26 MB, the full JIT 12% faster at the cosine path).
FULL_JIT_RATINGS_BYTES = 10_000_000
# Each MovieLens layout's ratings file (ratings.csv, ratings.dat, u.data).
RATINGS_FILES = tuple(sorted({layout.entities["ratings"].file for layout in LAYOUTS.values()}))


def ratings_bytes(movielens_path: Any) -> int:
    """Bytes of the ratings file(s) of a MovieLens directory (0 when there are none)."""
    if not movielens_path:
        return 0
    folder = Path(str(movielens_path)).expanduser()
    return sum(
        (folder / name).stat().st_size for name in RATINGS_FILES if (folder / name).is_file()
    )


def full_jit_for_large_input(
    params: MutableMapping[str, Any], cli_vars: Mapping[str, Any], environ: Mapping[str, str]
) -> int | None:
    """Swap the quick-tier options of ``params``' driver options for ``LARGE_INPUT_OPTIONS``
    on a large input.

    Returns the ratings' bytes when it did, else None (the user set the options, the input
    is small or not a MovieLens directory, or the options hold no quick tier).
    """
    if USER_OPTIONS_ENV in environ:
        return None
    size = ratings_bytes(cli_vars.get("movielens_path"))
    options = str(params.get(DRIVER_OPTIONS, "")).split()
    if size < FULL_JIT_RATINGS_BYTES or not set(QUICK_TIER_OPTIONS) & set(options):
        return None
    kept = [option for option in options if option not in QUICK_TIER_OPTIONS]
    params[DRIVER_OPTIONS] = " ".join([*kept, *LARGE_INPUT_OPTIONS])
    return size
