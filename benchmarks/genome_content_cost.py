"""What the tag genome adds to the similar-movie lists' cost, side by side in one run.

Generates one data set in the ml-latest layout with a tag genome of ``--genome-tags`` tags
(1,128 by default, the real genome's width) and a copy of it without the genome files, builds
`dbt run --selector item_similarity` once on each (its own Spark directory), then times
`int_genome_neighbours` (the genome's nearest neighbours, in numpy) and
`int_similar_movie_validation_lists` (which measures `content_genome` beside `content`) on
the two in alternating rounds (one dbt thread; each model's time from `run_results.json`).
Without a genome the first has nothing to do and the second lists content once; with one,
twice, the second time from the genome's neighbours. Prints every round, the medians of the
two models' sum and their ratio.

Usage (from the project root, in the project's environment)::

    python benchmarks/genome_content_cost.py --ratings 200000 --movies 10681 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from similar_movies_cost import model_seconds  # benchmarks/, this script's folder

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("int_genome_neighbours", "int_similar_movie_validation_lists")
GENOME_FILES = ("genome-scores.csv", "genome-tags.csv")


def dbt(args: list[str], data_dir: Path, work: Path) -> dict[str, float]:
    """Run dbt on ``data_dir`` with ``work``'s Spark and target directories; model seconds."""
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MOVIELENS_SPARK_DIR": str(work / "spark"),
        "DBT_THREADS": "1",
    }
    command = [
        str(Path(sys.executable).parent / "dbt"), *args,
        "--vars", f"{{movielens_path: '{data_dir}'}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if completed.returncode != 0:
        sys.exit(f"dbt {args[0]} failed on {data_dir}:\n{completed.stdout[-3000:]}")
    return model_seconds(work / "target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=200_000)
    parser.add_argument("--movies", type=int, default=10_681)
    parser.add_argument("--genome-tags", type=int, default=1_128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="genome-content-cost-"))
    with_genome = work / "with-genome" / "data"
    subprocess.run(
        [
            sys.executable, "-m", "python_jobs.datasets.generator", "--layout", "ml-latest",
            "--ratings", str(args.ratings), "--users", str(max(1, args.ratings // 143)),
            "--movies", str(args.movies), "--genome-tags", str(args.genome_tags),
            "--no-bad-rows", "--quiet", "--out", str(with_genome),
        ],
        cwd=ROOT, check=True,
    )  # fmt: skip
    without_genome = work / "without-genome" / "data"
    without_genome.mkdir(parents=True)
    for path in with_genome.iterdir():
        if path.name not in GENOME_FILES:
            os.link(path, without_genome / path.name)
    sides = {"with genome": with_genome, "without genome": without_genome}
    for name, data_dir in sides.items():
        seconds = dbt(["run", "--selector", "item_similarity"], data_dir, data_dir.parent)
        listed = ", ".join(f"{model} {seconds[model]:.1f} s" for model in MODELS)
        print(f"setup {name}: {listed}", flush=True)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_number in range(1, args.rounds + 1):
        for name, data_dir in sides.items():
            seconds = dbt(["run", "--select", *MODELS], data_dir, data_dir.parent)
            times[name].append(sum(seconds[model] for model in MODELS))
            listed = ", ".join(f"{model} {seconds[model]:.1f} s" for model in MODELS)
            print(f"round {round_number} {name}: {listed}", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"median with genome {medians['with genome']:.1f} s, without "
        f"{medians['without genome']:.1f} s: ratio "
        f"{medians['with genome'] / medians['without genome']:.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
