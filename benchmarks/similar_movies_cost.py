"""What the served similar movies cost beside the seed's cosine path, in the same dbt run.

Runs ``dbt run --selector item_similarity`` (default vars) with one dbt thread, so that each
model's time in ``run_results.json`` is its own and not a wait for the other thread, and
sums the models in two groups:

* the cosine path, the seed's tables: the checks, the validated ratings, the movie pairs and
  their aggregates, ``dim_movies``, ``fct_movie_similarities``, ``fct_seed_similar_movies``
  (the staging views, which take no time of their own, are left out of both groups);
* the similar movies worth serving, everything else the selector builds: the split, the
  training pair aggregates, ``int_matrix_similar_movies``, the validation lists, the
  evaluation and ``fct_similar_movies``.

Prints each model's seconds, both sums and their ratio, for every round (a model's time
leaves out dbt's start and hooks, so the first round, which also creates the metastore,
counts as any other).

Usage (from the project root, in the project's environment)::

    python benchmarks/similar_movies_cost.py --generate 1000000 --movies 10681
    python benchmarks/similar_movies_cost.py ../shared/data/ml-latest-small
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from compare_cosine import generate  # benchmarks/, this script's folder

ROOT = Path(__file__).resolve().parent.parent
COSINE_PATH = {
    "int_ratings_checked",
    "int_movies_checked",
    "int_ratings_validated",
    "int_movie_pairs",
    "int_movie_pair_scores",
    "dim_movies",
    "fct_movie_similarities",
    "fct_seed_similar_movies",
}


def model_seconds(target: Path) -> dict[str, float]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        result["unique_id"].split(".")[-1]: float(result["execution_time"])
        for result in results
        if result["unique_id"].startswith("model.")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("movielens_dir", type=Path, nargs="?")
    parser.add_argument("--generate", type=int, metavar="RATINGS")
    parser.add_argument("--movies", type=int, help="movies of the generated set")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if (args.movielens_dir is None) == (args.generate is None):
        parser.error("give a MovieLens directory or --generate RATINGS")
    work = Path(tempfile.mkdtemp(prefix="similar-movies-cost-"))
    data_dir = (
        generate(work, args.generate, args.movies)
        if args.generate
        else args.movielens_dir.resolve()
    )
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MOVIELENS_SPARK_DIR": str(work / "spark"),
        "DBT_THREADS": "1",
    }
    command = [
        str(Path(sys.executable).parent / "dbt"), "run", "--selector", "item_similarity",
        "--vars", f"{{movielens_path: '{data_dir}'}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    for round_number in range(1, args.rounds + 1):
        completed = subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        if completed.returncode != 0:
            sys.exit(f"dbt run failed:\n{completed.stdout[-3000:]}")
        seconds = model_seconds(work / "target")
        cosine = {name: s for name, s in seconds.items() if name in COSINE_PATH}
        similar = {
            name: s
            for name, s in seconds.items()
            if name not in COSINE_PATH and not name.startswith("stg_")
        }
        print(f"round {round_number} ({data_dir}):")
        for group, models in [("cosine path", cosine), ("similar movies", similar)]:
            listed = ", ".join(f"{name} {s:.1f}" for name, s in sorted(models.items()))
            print(f"  {group}: {sum(models.values()):.1f} s ({listed})")
        ratio = sum(similar.values()) / sum(cosine.values())
        print(f"  similar movies / cosine path: {ratio:.2f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
