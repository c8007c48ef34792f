"""The served similar movies and their evaluation, against an independent computation.

Every collaborative method is recomputed here with scipy sparse products over the same
ratings (the build's split for the evaluation, the rating files for the served lists), the
lists ranked with pandas, and `ml_similarity_evaluation` recomputed from them with pandas:
a wrong formula, tie-break, judgement or base rate changes an integer count. The content
rows' scores are recomputed from the genres, years and tags, and the tag genome's neighbours
from its relevance vectors with pandas; coverage and labels are checked on every build the
suite already makes (demo, ml-100k, ml-latest-small).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.dbt.test_cosine_similarity import pair_scores
from tests.support import PROJECT_ROOT, DbtRun

pytestmark = pytest.mark.dbt
TOP_N = 10
MIN_CO_RATERS = 10  # the seed's co-rater filter; movies with fewer raters are not paired
MIN_SIMILARITY = 0.95
FLOOR = 5  # similarity_min_co_raters
SHRINKAGE = 20.0  # similarity_shrinkage
ALPHA = 0.75  # similarity_asymmetry
GENRE_WEIGHT = 0.25  # similarity_genre_weight
EASE_LAMBDA = 4000.0  # similarity_ease_lambda
EASE_MAX_MOVIES = 6000  # ease_max_movies
PAIR_METHODS = [
    "seed_cosine",
    "binary_cosine",
    "genre_binary_cosine",
    "asymmetric_cosine",
    "jaccard",
    "lift",
    "cooccurrence",
    "item_knn_cosine",
]
MATRIX_METHODS = ["ease", "adjusted_cosine"]
COLLABORATIVE = [*PAIR_METHODS, *MATRIX_METHODS]


def method_scores(
    pairs: pd.DataFrame,
    counts: pd.Series,
    squares: pd.Series,
    method: str,
    movies: pd.DataFrame,
) -> pd.DataFrame:
    """Both directions of every pair the method lists, with its score (the same operations
    in the same order as macros/similarity.sql, so equal inputs give equal doubles).
    `counts` and `squares` are every movie's raters and sum of squared ratings; `movies`,
    dim_movies (the genres)."""
    # item_knn_cosine's norms multiply in the pair's stored order (movie1's first).
    pairs = pairs.assign(
        full_norm=pairs["sum_xy"].to_numpy()
        / np.sqrt(
            squares.loc[pairs["movie1_id"]].to_numpy(dtype=float)
            * squares.loc[pairs["movie2_id"]].to_numpy(dtype=float)
        )
    )
    if "genre_jaccard" not in pairs:
        pairs = with_genre_jaccard(pairs, movies)
    forward = pairs.rename(columns={"movie1_id": "movie_id", "movie2_id": "similar_movie_id"})
    backward = pairs.rename(columns={"movie2_id": "movie_id", "movie1_id": "similar_movie_id"})
    both = pd.concat([forward, backward], ignore_index=True)
    n = both["num_pairs"].to_numpy(dtype=float)
    a = counts.loc[both["movie_id"]].to_numpy(dtype=float)
    b = counts.loc[both["similar_movie_id"]].to_numpy(dtype=float)
    if method == "seed_cosine":
        keep = (both["num_pairs"] >= MIN_CO_RATERS) & (both["score"] >= MIN_SIMILARITY)
        score = both["score"].to_numpy()
    else:
        keep = both["num_pairs"] >= FLOOR
        score = {
            "binary_cosine": n / np.sqrt(a * b) * n / (n + SHRINKAGE),
            "genre_binary_cosine": n
            / np.sqrt(a * b)
            * n
            / (n + SHRINKAGE)
            * (1 + GENRE_WEIGHT * both["genre_jaccard"].to_numpy()),
            "asymmetric_cosine": n / (a**ALPHA * b ** (1 - ALPHA)),
            "jaccard": n / (a + b - n),
            "lift": n / (a * b),
            "cooccurrence": n,
            "item_knn_cosine": both["full_norm"].to_numpy(),
        }[method]
    both = both.assign(score=score)[keep.to_numpy()]
    return both[["movie_id", "similar_movie_id", "score", "num_pairs"]]


def matrix_lists(ratings: pd.DataFrame, method: str, depth: int = TOP_N) -> pd.DataFrame:
    """int_matrix_similar_movies' lists of `method` from a frame of ratings, by the textbook
    formulas with dense numpy, over the movies with MIN_CO_RATERS raters:
    - ease: B = -P / diag(P) column by column, P = (XᵀX + λI)⁻¹ by numpy's general inverse;
      a movie's list is its row of B;
    - adjusted_cosine: c = rating - the user's mean over all their ratings; Σ c_i c_j over
      co-raters / (√Σ c_i² · √Σ c_j², both over the same co-raters).
    Positive scores on pairs with FLOOR co-raters, by score (to 12 decimals), then more
    co-raters, then the smaller id."""
    counts = ratings.groupby("movie_id").size()
    kept = np.sort(counts.index[counts >= MIN_CO_RATERS].to_numpy())
    assert len(kept) <= EASE_MAX_MOVIES  # no cap to apply on the suite's data
    means = ratings.groupby("user_id")["rating"].mean()
    rated = ratings[ratings["movie_id"].isin(kept)]
    users, rows = np.unique(rated["user_id"].to_numpy(), return_inverse=True)
    cols = np.searchsorted(kept, rated["movie_id"].to_numpy())
    x = np.zeros((len(users), len(kept)))
    x[rows, cols] = 1.0
    gram = x.T @ x
    if method == "ease":
        precision = np.linalg.inv(gram + EASE_LAMBDA * np.eye(len(kept)))
        scores = -precision / np.diag(precision)[None, :]
    else:
        centred = np.zeros_like(x)
        centred[rows, cols] = rated["rating"].to_numpy() - means.loc[users].to_numpy()[rows]
        co_squares = (centred**2).T @ x  # [i, j]: Σ c_ui² over the raters of both
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = (centred.T @ centred) / np.sqrt(co_squares * co_squares.T)
    np.fill_diagonal(scores, 0.0)
    listed = []
    for i, movie in enumerate(kept):
        candidates = np.nonzero((gram[i] >= FLOOR) & (scores[i] > 0))[0]
        rounded = np.round(scores[i, candidates], 12)  # equal up to rounding: a tie
        order = np.lexsort((kept[candidates], -gram[i, candidates], -rounded))
        for rank, j in enumerate(candidates[order][:depth], start=1):
            listed.append((movie, kept[j], scores[i, j], int(gram[i, j]), rank))
    columns = ["movie_id", "similar_movie_id", "score", "num_pairs", "similarity_rank"]
    return pd.DataFrame(listed, columns=columns)


def assert_matrix_lists(run: DbtRun, ratings: pd.DataFrame) -> None:
    """int_matrix_similar_movies, both scopes and methods, against :func:`matrix_lists`."""
    table = run.read_table("int_matrix_similar_movies")
    splits = run.read_table("ml_rating_splits")
    train = splits[splits["split"] == "train"]
    key = ["movie_id", "similarity_rank", "similar_movie_id", "num_pairs"]
    for scope, fitted_on in [("train", train), ("all", ratings)]:
        for method in MATRIX_METHODS:
            expected = matrix_lists(fitted_on, method)
            actual = table[(table["scope"] == scope) & (table["method"] == method)]
            actual = actual.sort_values(["movie_id", "similarity_rank"]).reset_index(drop=True)
            assert len(actual) == len(expected) > 0, (scope, method)
            np.testing.assert_array_equal(actual[key].to_numpy(), expected[key].to_numpy())
            np.testing.assert_allclose(actual["score"], expected["score"], rtol=1e-8)


def with_genre_jaccard(pairs: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    """The pairs with the Jaccard index of their two movies' genre sets."""
    jaccard = genre_jaccard(movies, pairs["movie1_id"], pairs["movie2_id"])
    return pairs.assign(genre_jaccard=jaccard)


def top_lists(scored: pd.DataFrame, depth: int = TOP_N) -> pd.DataFrame:
    """Each movie's `depth` best: score desc, then more co-raters, then the smaller id."""
    ranked = scored.sort_values(
        ["movie_id", "score", "num_pairs", "similar_movie_id"],
        ascending=[True, False, False, True],
    )
    ranked = ranked.assign(similarity_rank=ranked.groupby("movie_id").cumcount() + 1)
    return ranked[ranked["similarity_rank"] <= depth].reset_index(drop=True)


def scipy_pairs(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The pair aggregates (movies with `MIN_CO_RATERS` raters), every movie's raters and
    the sum of its squared ratings."""
    frame = ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"})
    pairs = pair_scores(frame[["userId", "movieId", "rating"]], min_raters=MIN_CO_RATERS)
    squares = (frame["rating"].astype(float) ** 2).groupby(frame["movieId"]).sum()
    return pairs, frame.groupby("movieId").size(), squares


def genre_jaccard(movies: pd.DataFrame, left: pd.Series, right: pd.Series) -> np.ndarray:
    genres = {m: set(g) for m, g in zip(movies["movie_id"], movies["genres"], strict=True)}
    values = []
    for i, j in zip(left, right, strict=True):
        union = genres[i] | genres[j]
        values.append(len(genres[i] & genres[j]) / len(union) if union else 0.0)
    return np.array(values)


def expected_evaluation(run: DbtRun) -> pd.DataFrame:
    """ml_similarity_evaluation's measures of every collaborative method and popularity,
    from the build's split alone (doc `similar_movies_protocol`)."""
    splits = run.read_table("ml_rating_splits")
    movies = run.read_table("dim_movies")
    train = splits[splits["split"] == "train"][["user_id", "movie_id", "rating"]]
    validation = splits[splits["split"] == "validation"][["user_id", "movie_id"]]
    pairs, counts, squares = scipy_pairs(train)
    pairs = with_genre_jaccard(pairs, movies)  # once for every method
    lists = {m: top_lists(method_scores(pairs, counts, squares, m, movies)) for m in PAIR_METHODS}
    for method in MATRIX_METHODS:
        lists[method] = matrix_lists(train, method)
    popular = counts.reset_index(name="n").sort_values(["n", "movieId"], ascending=[False, True])
    popular_ids = popular["movieId"].to_numpy()[: TOP_N + 1]
    lists["popularity"] = pd.DataFrame(
        [
            (movie, similar)
            for movie in movies["movie_id"]
            for similar in [p for p in popular_ids if p != movie][:TOP_N]
        ],
        columns=["movie_id", "similar_movie_id"],
    )

    validation_per_user = validation.groupby("user_id").size().rename("user_validation")
    validation_per_movie = validation.groupby("movie_id").size()
    judged = counts[counts >= MIN_CO_RATERS].index
    judges = train[
        train["movie_id"].isin(judged) & train["user_id"].isin(validation_per_user.index)
    ]
    num_slots = len(judges) * TOP_N
    num_anchor_slots = judges["movie_id"].nunique() * TOP_N
    train_keys = set(zip(train["user_id"], train["movie_id"], strict=True))
    validation_keys = set(zip(validation["user_id"], validation["movie_id"], strict=True))

    rows = []
    for method, listed in lists.items():
        coverage = listed["movie_id"].nunique()
        pairs_judged = listed[listed["movie_id"].isin(judged)][["movie_id", "similar_movie_id"]]
        raters = pairs_judged.merge(train[["user_id", "movie_id"]], on="movie_id")
        keys = list(zip(raters["user_id"], raters["similar_movie_id"], strict=True))
        raters["co_rated"] = [key in train_keys for key in keys]
        raters["hit"] = [key in validation_keys for key in keys]
        raters = raters.join(validation_per_user, on="user_id")
        raters["judging"] = raters["user_validation"].notna() & ~raters["co_rated"]
        raters["activity"] = raters["user_validation"].where(raters["judging"], 0)
        per_pair = raters.groupby(["movie_id", "similar_movie_id"]).agg(
            support=("co_rated", "sum"),
            judgements=("judging", "sum"),
            hits=("hit", "sum"),
            activity=("activity", "sum"),
        )
        per_pair = per_pair.reset_index()
        share = validation_per_movie.reindex(per_pair["similar_movie_id"]).fillna(0).to_numpy()
        per_pair["expected"] = per_pair["activity"].to_numpy() * share / len(validation)
        hits, expected = per_pair["hits"].sum(), per_pair["expected"].sum()
        # Poisson standard deviations beyond the base rate, 0 where nothing is expected
        residual = per_pair["hits"] - per_pair["expected"]
        deviations = (residual / np.sqrt(per_pair["expected"])).where(per_pair["expected"] > 0, 0)
        rows.append(
            {
                "method": method,
                "num_listed_movies": coverage,
                "validation_hits": hits,
                "num_judgements": per_pair["judgements"].sum(),
                "num_slots": num_slots,
                "expected_hits": expected,
                "excess_hit_rate": (hits - expected) / num_slots,
                "mean_standardized_excess": deviations.sum() / num_anchor_slots,
                "mean_support": per_pair["support"].mean(),
                "median_support": per_pair["support"].median(),
                "genre_agreement": genre_jaccard(
                    movies, per_pair["movie_id"], per_pair["similar_movie_id"]
                ).mean(),
            }
        )
    return pd.DataFrame(rows).set_index("method")


def assert_evaluation_recomputed(run: DbtRun, *, with_genome: bool = False) -> None:
    actual = run.read_table("ml_similarity_evaluation").set_index("method")
    content_methods = ["content", "content_genome"] if with_genome else ["content"]
    assert sorted(actual.index) == sorted([*COLLABORATIVE, *content_methods, "popularity"])
    expected = expected_evaluation(run)
    for method, row in expected.iterrows():
        got = actual.loc[method]
        for column in ["num_listed_movies", "validation_hits", "num_judgements", "num_slots"]:
            assert got[column] == row[column], (method, column, got[column], row[column])
        for column in [
            "expected_hits",
            "excess_hit_rate",
            "mean_standardized_excess",
            "mean_support",
            "median_support",
            "genre_agreement",
        ]:
            assert got[column] == pytest.approx(row[column], rel=1e-9, abs=1e-12), (method, column)
    collaborative = expected.loc[COLLABORATIVE, "mean_standardized_excess"]
    served = actual.index[actual["is_served"]].tolist()
    assert served == [collaborative.idxmax()]
    for measure in ["mean_standardized_excess", "excess_hit_rate"]:
        assert expected.loc[served[0], measure] > expected.loc["popularity", measure], measure
    catalog = len(run.read_table("dim_movies"))
    assert actual.loc["popularity", "catalog_coverage"] == 1.0
    for method in content_methods:
        assert actual.loc[method, "num_listed_movies"] == catalog


def assert_served_lists(run: DbtRun, ratings: pd.DataFrame) -> pd.DataFrame:
    """The collaborative rows of fct_similar_movies are the served method's lists over every
    rating, recomputed with scipy; returns the table."""
    served = run.read_table("ml_similarity_evaluation").query("is_served")["method"].item()
    similar = run.read_table("fct_similar_movies")
    if served in MATRIX_METHODS:
        expected = matrix_lists(ratings, served)
    else:
        pairs, counts, squares = scipy_pairs(ratings)
        movies = run.read_table("dim_movies")
        expected = top_lists(method_scores(pairs, counts, squares, served, movies))
    actual = similar[similar["method"] == served].sort_values(["movie_id", "similarity_rank"])
    actual = actual.reset_index(drop=True)
    assert len(actual) == len(expected) > 0
    key = ["movie_id", "similarity_rank", "similar_movie_id", "num_pairs"]
    np.testing.assert_array_equal(actual[key].to_numpy(), expected[key].to_numpy())
    # numpy here, scipy and LAPACK there: equal to rounding, not bit for bit.
    tolerance = 1e-8 if served in MATRIX_METHODS else 1e-12
    np.testing.assert_allclose(actual["score"], expected["score"], rtol=tolerance)
    return similar


def assert_every_movie_listed(run: DbtRun) -> None:
    """Every catalog movie has top_n rows; the labels say where they come from."""
    similar = run.read_table("fct_similar_movies")
    movies = run.read_table("dim_movies").set_index("movie_id")
    per_movie = similar.groupby("movie_id").size()
    assert set(per_movie.index) == set(movies.index)
    assert (per_movie == TOP_N).all()
    assert (similar["movie_id"] != similar["similar_movie_id"]).all()
    assert not similar.duplicated(["movie_id", "similar_movie_id"]).any()
    assert set(similar["basis"]) <= {"collaborative", "hybrid", "content"}
    content = similar["method"].isin(["content", "content_genome"])
    kinds = content.groupby(similar["movie_id"]).agg(["all", "any"])
    basis = similar.groupby("movie_id")["basis"].first()
    assert (basis[kinds["all"]] == "content").all()
    assert (basis[~kinds["any"]] == "collaborative").all()
    assert (basis[kinds["any"] & ~kinds["all"]] == "hybrid").all()
    # Too few raters to be paired: the list is content's.
    rare = movies.index[movies["num_ratings"] < MIN_CO_RATERS]
    assert (basis.loc[rare] == "content").all()
    # Collaborative rows come first, with their co-raters; content rows have none.
    collaborative_rows = similar[~content]
    assert (collaborative_rows["num_pairs"] >= FLOOR).all()
    assert similar.loc[content, "num_pairs"].isna().all()
    last_collaborative = collaborative_rows.groupby("movie_id")["similarity_rank"].max()
    first_content = similar[content].groupby("movie_id")["similarity_rank"].min()
    both = last_collaborative.index.intersection(first_content.index)
    assert (last_collaborative.loc[both] < first_content.loc[both]).all()
    # Listed movies are rated ones.
    assert (movies.loc[similar["similar_movie_id"], "num_ratings"] > 0).all()


GENOME_NEIGHBOURS = 100  # genome_neighbours


def expected_genome_neighbours(genome: pd.DataFrame) -> pd.DataFrame:
    """Every genome movie's GENOME_NEIGHBOURS nearest other genome movies by the cosine of
    their relevance vectors (a missing tag counts 0; all-zero vectors left out), ranked by
    cosine to 12 decimals, then the smaller id: pandas over a dense pivot."""
    vectors = genome.pivot_table(
        index="movie_id", columns="tag_id", values="relevance", aggfunc="max", fill_value=0.0
    )
    vectors = vectors[(vectors > 0).any(axis=1)]
    unit = vectors.to_numpy() / np.sqrt((vectors.to_numpy() ** 2).sum(axis=1))[:, None]
    cosine = pd.DataFrame(unit @ unit.T, index=vectors.index, columns=vectors.index)
    pairs = cosine.stack().rename("score").rename_axis(["movie_id", "similar_movie_id"])
    pairs = pairs.reset_index().query("movie_id != similar_movie_id")
    pairs["rounded"] = pairs["score"].round(12)
    pairs = pairs.sort_values(["movie_id", "rounded", "similar_movie_id"],
                              ascending=[True, False, True])  # fmt: skip
    pairs["neighbour_rank"] = pairs.groupby("movie_id").cumcount() + 1
    kept = pairs[pairs["neighbour_rank"] <= GENOME_NEIGHBOURS]
    return kept[["movie_id", "similar_movie_id", "score", "neighbour_rank"]]


def assert_genome_neighbours(run: DbtRun, genome: pd.DataFrame) -> pd.DataFrame:
    """int_genome_neighbours equals the pandas computation; returns it."""
    actual = run.read_table("int_genome_neighbours").sort_values(["movie_id", "neighbour_rank"])
    expected = expected_genome_neighbours(genome)
    assert len(actual) == len(expected)
    key = ["movie_id", "neighbour_rank", "similar_movie_id"]
    np.testing.assert_array_equal(actual[key].to_numpy(), expected[key].to_numpy())
    np.testing.assert_allclose(actual["score"], expected["score"], rtol=0, atol=1e-12)
    return actual


def genome_rows(lists: pd.DataFrame, neighbours: pd.DataFrame) -> np.ndarray:
    """Whether each (movie_id, similar_movie_id) of ``lists`` is a pair of ``neighbours``."""
    pairs = set(zip(neighbours["movie_id"], neighbours["similar_movie_id"], strict=True))
    keys = zip(lists["movie_id"], lists["similar_movie_id"], strict=True)
    return np.array([key in pairs for key in keys], dtype=bool)


def assert_genome_first(lists: pd.DataFrame, neighbours: pd.DataFrame) -> np.ndarray:
    """In content lists, the rows whose pair is a genome neighbour (``neighbours``: empty
    where the genome is not used) are scored by its cosine and come before the other rows,
    each kind in non-increasing score. Returns which rows are genome rows."""
    both = genome_rows(lists, neighbours)
    cosine = neighbours.set_index(["movie_id", "similar_movie_id"])["score"]
    listed = lists[both]
    keys = list(zip(listed["movie_id"], listed["similar_movie_id"], strict=True))
    np.testing.assert_allclose(
        listed["score"].to_numpy(), cosine.loc[keys].to_numpy(), rtol=0, atol=1e-9
    )
    ordered = lists.assign(genome=both).sort_values(["movie_id", "similarity_rank"])
    steps = ordered.groupby(["movie_id", "genome"])["score"].diff().dropna()
    assert (steps <= 1e-12).all()
    first_other = ordered[~ordered["genome"]].groupby("movie_id")["similarity_rank"].min()
    last_genome = ordered[ordered["genome"]].groupby("movie_id")["similarity_rank"].max()
    common = first_other.index.intersection(last_genome.index)
    assert (last_genome.loc[common] < first_other.loc[common]).all()
    return both


def assert_validation_genome_lists(run: DbtRun, neighbours: pd.DataFrame) -> None:
    """The evaluation's content_genome lists: genome neighbours first, by cosine."""
    lists = run.read_table("int_similar_movie_validation_lists")
    lists = lists[lists["method"] == "content_genome"]
    assert assert_genome_first(lists, neighbours).sum() > 100


def assert_content_scores(run: DbtRun, tags: pd.DataFrame, neighbours: pd.DataFrame) -> None:
    """The content method the evaluation chose completes the lists. With content_genome, the
    anchor's rated genome neighbours first (labelled content_genome), scored by cosine.
    Otherwise 0.6 genre Jaccard + 0.25 year closeness + 0.15 tag Jaccard (`content`). Row
    by row, and each kind in non-increasing score.

    ``neighbours``: int_genome_neighbours as checked (empty without a genome)."""
    evaluation = run.read_table("ml_similarity_evaluation").set_index("method")
    content_kind = evaluation[evaluation["method_kind"] == "content"]
    served = content_kind.index[content_kind["is_served_content"]].tolist()
    assert served == [content_kind["mean_standardized_excess"].idxmax()]
    similar = run.read_table("fct_similar_movies")
    content = similar[similar["method"].isin(["content", "content_genome"])]
    assert len(content) > 0
    if served != ["content_genome"]:
        neighbours = neighbours.iloc[:0]
    both = assert_genome_first(content, neighbours)
    assert (both == (content["method"] == "content_genome").to_numpy()).all()
    rows = content[~both]
    movies = run.read_table("dim_movies")
    years = movies.set_index("movie_id")["release_year"]
    tag_sets = (
        tags.dropna(subset=["movie_id", "tag"])
        .assign(tag=lambda t: t["tag"].str.strip().str.lower())
        .query("tag != ''")
        .groupby("movie_id")["tag"]
        .apply(set)
    )
    genre = genre_jaccard(movies, rows["movie_id"], rows["similar_movie_id"])
    gap = np.abs(
        years.reindex(rows["movie_id"]).to_numpy(dtype=float)
        - years.reindex(rows["similar_movie_id"]).to_numpy(dtype=float)
    )
    year = np.nan_to_num(np.maximum(0.0, 1 - gap / 10.0), nan=0.0)
    tag = []
    for i, j in zip(rows["movie_id"], rows["similar_movie_id"], strict=True):
        left, right = tag_sets.get(i, set()), tag_sets.get(j, set())
        union = left | right
        tag.append(len(left & right) / len(union) if union else 0.0)
    expected = 0.6 * genre + 0.25 * year + 0.15 * np.array(tag)
    np.testing.assert_allclose(rows["score"].to_numpy(), expected, rtol=0, atol=1e-9)


NO_GENOME = pd.DataFrame(
    {"movie_id": pd.Series([], dtype="int64"), "similar_movie_id": pd.Series([], dtype="int64"),
     "score": pd.Series([], dtype=float)}
)  # fmt: skip


# --------------------------------------------------------------------------- ml-100k


def test_ml_100k_evaluation_equals_a_pandas_recomputation(ml_100k_build: DbtRun) -> None:
    assert_evaluation_recomputed(ml_100k_build)


def test_ml_100k_served_lists_equal_scipy(ml_100k_build: DbtRun, ml_100k: Path) -> None:
    ratings = pd.read_csv(
        ml_100k / "u.data", sep="\t", names=["user_id", "movie_id", "rating", "timestamp"]
    )
    similar = assert_served_lists(ml_100k_build, ratings)
    assert_matrix_lists(ml_100k_build, ratings)
    assert_every_movie_listed(ml_100k_build)
    no_tags = pd.DataFrame(
        {"movie_id": pd.Series([], dtype="int64"), "tag": pd.Series([], dtype=object)}
    )
    assert_content_scores(ml_100k_build, no_tags, NO_GENOME)  # ML-100K: no tags, no genome
    # Recognisable: Star Wars' served list opens with its sequel and rests on hundreds of
    # co-raters; the seed's rests on as few as 10.
    star_wars = similar[similar["movie_id"] == 50].sort_values("similarity_rank")
    assert "Return of the Jedi (1983)" in set(star_wars["similar_movie_title"].head(3))
    assert (star_wars["num_pairs"] >= 100).all()
    seed = ml_100k_build.read_table("fct_seed_similar_movies")
    assert seed[seed["movie_id"] == 50]["num_pairs"].min() < 20


def test_ml_100k_seed_method_is_worse_than_the_served_one(ml_100k_build: DbtRun) -> None:
    evaluation = ml_100k_build.read_table("ml_similarity_evaluation").set_index("method")
    served = evaluation[evaluation["is_served"]].iloc[0]
    seed = evaluation.loc["seed_cosine"]
    assert served["mean_standardized_excess"] > seed["mean_standardized_excess"]
    assert served["excess_hit_rate"] > seed["excess_hit_rate"]
    assert served["rated_movie_coverage"] > seed["rated_movie_coverage"]


# --------------------------------------------------------------------------- ml-latest-small


def test_ml_latest_small_evaluation_equals_a_pandas_recomputation(
    ml_latest_small_build: DbtRun,
) -> None:
    assert_evaluation_recomputed(ml_latest_small_build)


def test_ml_latest_small_lists_tags_and_cold_start(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    ratings = pd.read_csv(ml_latest_small / "ratings.csv").rename(
        columns={"userId": "user_id", "movieId": "movie_id"}
    )
    assert_served_lists(ml_latest_small_build, ratings)
    assert_matrix_lists(ml_latest_small_build, ratings)
    assert_every_movie_listed(ml_latest_small_build)
    tags = pd.read_csv(ml_latest_small / "tags.csv").rename(columns={"movieId": "movie_id"})
    assert_content_scores(ml_latest_small_build, tags, NO_GENOME)  # the small set has none
    similar = ml_latest_small_build.read_table("fct_similar_movies")
    basis = similar.groupby("movie_id")["basis"].first()
    # Most of this catalog has fewer than 10 ratings: content lists carry it.
    assert (basis == "content").mean() > 0.5
    assert (basis == "collaborative").sum() > 1_000


# --------------------------------------------------------------------------- demo


def test_demo_every_movie_has_a_labelled_list(demo_build: DbtRun) -> None:
    assert_every_movie_listed(demo_build)
    # The demo's rating seed holds defective rows on purpose: the "all" scope is fitted on
    # the ratings that passed the checks.
    assert_matrix_lists(demo_build, demo_build.read_table("int_ratings_validated"))
    tags = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_tags.csv")
    tags = tags.rename(columns={"movieId": "movie_id"})
    tags["movie_id"] = pd.to_numeric(tags["movie_id"], errors="coerce")
    genome = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_genome_scores.csv")
    genome = genome.rename(columns={"movieId": "movie_id", "tagId": "tag_id"})
    neighbours = assert_genome_neighbours(demo_build, genome)
    assert_content_scores(demo_build, tags, neighbours)
    assert_validation_genome_lists(demo_build, neighbours)
    assert_evaluation_recomputed(demo_build, with_genome=True)
