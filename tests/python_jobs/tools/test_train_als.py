"""python_jobs.tools.train_als: its command line, its readers, and its script mode."""

from __future__ import annotations

import subprocess
import sys

from python_jobs import defaults
from python_jobs.tools.train_als import parse_args, read_table
from tests.support import PROJECT_ROOT


def test_the_command_line_defaults_are_the_seed_grid():
    args = parse_args(["--ratings", "r.csv", "--movies", "m.csv", "--output-dir", "out"])
    assert args.ranks == list(defaults.ALS_RANKS)
    assert args.reg_params == list(defaults.ALS_REG_PARAMS)
    assert (args.max_iter, args.seed, args.top_n) == (
        defaults.ALS_MAX_ITER,
        defaults.SEED,
        defaults.TOP_N,
    )
    grid = parse_args(
        ["--ratings", "r", "--movies", "m", "--output-dir", "o", "--ranks", "4, 8,"]
        + ["--reg-params", "0.1,1"]
    )
    assert (grid.ranks, grid.reg_params) == ([4, 8], [0.1, 1.0])


def test_a_movielens_csv_is_read_with_the_project_column_names(spark, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,10,4.5,964982703\n")
    frame = read_table(spark, str(path))
    assert frame.columns == ["user_id", "movie_id", "rating", "timestamp"]
    assert frame.collect()[0]["movie_id"] == 10


def test_it_runs_as_a_script_as_spark_submit_runs_it(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "python_jobs" / "tools" / "train_als.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "--checkpoint-dir" in completed.stdout
