"""Tests for ``python_jobs.datasets.generator``: formats, determinism, shape, defects, the seeds.

Every expectation is computed from the written files (csv module, pandas, plain string
handling) following the real MovieLens format rules, never from the generator's internals.
"""

from __future__ import annotations

import csv
import filecmp
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from python_jobs.datasets import generator
from python_jobs.datasets.generator import DEFECT_REASONS, DEMO_DEFECTS, main, write_dataset
from tests.support import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "seeds"
SEED_FILES = (
    "demo_ratings.csv", "demo_movies.csv", "demo_tags.csv", "demo_links.csv",
    "demo_genome_scores.csv", "demo_genome_tags.csv",
)  # fmt: skip

# The MovieLens genre vocabularies, written out here rather than taken from the module.
LATEST_GENRES = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western", "(no genres listed)",
}  # fmt: skip
ML1M_GENRES = (LATEST_GENRES - {"Children", "IMAX"}) | {"Children's"}

SIZES = {"n_ratings": 6_000, "n_users": 200, "n_movies": 300, "seed": 7}
TITLE = re.compile(r"^.+ \((\d{4})\)$")
FIRST_TS, LAST_TS = 828_124_615, 1_537_799_250  # ml-latest-small's first and last rating


def _rows(path: Path, *, sep: str, encoding: str) -> list[list[str]]:
    text = path.read_bytes().decode(encoding)
    assert text.endswith("\n") and "\r" not in text
    return [line.split(sep) for line in text[:-1].split("\n")]


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each layout written once with the same seed and sizes."""
    out = {}
    for layout in ("ml-latest", "ml-10m", "ml-1m", "ml-100k"):
        out[layout] = tmp_path_factory.mktemp(layout)
        write_dataset(out_dir=out[layout], layout=layout, **SIZES)
    return out


@pytest.fixture(scope="module")
def latest(layouts: dict[str, Path]) -> dict[str, pd.DataFrame]:
    d = layouts["ml-latest"]
    return {
        name: pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("ratings", "movies", "tags", "links")
    }


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    """The committed seeds, good rows and defects apart (defects are the last rows)."""
    frames = {
        name: pd.read_csv(SEEDS / f"demo_{name}.csv", dtype=str, keep_default_na=False)
        for name in ("ratings", "movies", "tags", "links")
    }
    n_bad = len(DEMO_DEFECTS)
    frames["bad"] = frames["ratings"].iloc[-n_bad:].reset_index(drop=True)
    frames["good"] = (
        frames["ratings"]
        .iloc[:-n_bad]
        .astype({"userId": int, "movieId": int, "rating": float, "timestamp": int})
    )
    return frames


# ------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    kwargs = {"layout": "ml-latest", "n_ratings": 3_000, "n_users": 100, "n_movies": 200}
    write_dataset(out_dir=tmp_path / "a", seed=1, **kwargs)
    write_dataset(out_dir=tmp_path / "b", seed=1, **kwargs)
    write_dataset(out_dir=tmp_path / "c", seed=2, **kwargs)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]  # no genome asked
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, False)
    assert (match, mismatch, errors) == (names, [], [])
    _, mismatch, _ = filecmp.cmpfiles(tmp_path / "a", tmp_path / "c", names, shallow=False)
    assert mismatch == names


def test_committed_seeds_equal_a_fresh_generation_with_the_demo_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--layout", "dbt-seeds", "--out", str(tmp_path)]) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("dbt-seeds: 400 users, 900 movies, 20000 ratings (+6 bad rows)")
    for name in SEED_FILES:
        assert (tmp_path / name).read_bytes() == (SEEDS / name).read_bytes(), name


def test_demo_seeds_stay_small() -> None:
    assert sum((SEEDS / name).stat().st_size for name in SEED_FILES) < 1_000_000


# --------------------------------------------------------------------------- ml-latest


def test_ml_latest_headers_and_csv_quoting(layouts: dict[str, Path]) -> None:
    d = layouts["ml-latest"]
    expected = {
        "ratings.csv": ["userId", "movieId", "rating", "timestamp"],
        "movies.csv": ["movieId", "title", "genres"],
        "tags.csv": ["userId", "movieId", "tag", "timestamp"],
        "links.csv": ["movieId", "imdbId", "tmdbId"],
    }
    for name, header in expected.items():
        got, rows = _csv_rows(d / name)
        assert got == header, name
        assert rows and all(len(r) == len(header) for r in rows), name
    raw = (d / "movies.csv").read_text(encoding="utf-8").splitlines()[1:]
    _, movies = _csv_rows(d / "movies.csv")
    for line, (movie_id, title, genres) in zip(raw, movies, strict=True):
        if "," in title or '"' in title:  # quoted, inner quotes doubled
            assert line == f'{movie_id},"{title.replace(chr(34), 2 * chr(34))}",{genres}'
        else:
            assert line == f"{movie_id},{title},{genres}"
    # ratings are written like MovieLens: one decimal ("4.0", "0.5"), never quoted
    for line in (d / "ratings.csv").read_text().splitlines()[1:]:
        assert re.fullmatch(r"\d+,\d+,\d\.[05],\d{9,10}", line), line


def test_ml_latest_movies_titles_genres_links(latest: dict[str, pd.DataFrame]) -> None:
    movies, links = latest["movies"], latest["links"]
    ids = movies.movieId.astype(int)
    assert ids.is_unique and ids.is_monotonic_increasing and ids.iloc[0] == 1
    years = movies.title.str.extract(TITLE)[0]
    assert years.notna().all()
    assert years.astype(int).between(1900, 2018).all()
    assert movies.title.is_unique
    for genres in movies.genres:
        names = genres.split("|")
        assert set(names) <= LATEST_GENRES
        assert names == sorted(names) and len(set(names)) == len(names)
        assert "(no genres listed)" not in names or names == ["(no genres listed)"]
    assert links.movieId.tolist() == movies.movieId.tolist()
    assert links.imdbId.str.fullmatch(r"\d{7}").all() and links.imdbId.is_unique
    assert links.tmdbId.str.fullmatch(r"\d*").all()


def test_ml_latest_titles_have_the_movielens_quirks(demo: dict[str, pd.DataFrame]) -> None:
    titles = demo["movies"].title
    assert titles.str.contains(r", The \(\d{4}\)$").sum() >= 20  # "Harbor, The (1987)"
    assert titles.str.startswith("The ").sum() >= 10
    assert titles.str.contains(",").sum() >= 50
    assert titles.str.contains('"').sum() >= 3
    assert titles.map(lambda t: not t.isascii()).sum() >= 20
    assert titles.map(lambda t: t.encode("latin-1") is not None).all()  # ml-1m/100k encode
    assert (demo["movies"].genres == "(no genres listed)").sum() >= 1


def test_ml_latest_ratings_grid_range_uniqueness_integrity(
    latest: dict[str, pd.DataFrame],
) -> None:
    ratings = latest["ratings"].astype(
        {"userId": int, "movieId": int, "rating": float, "timestamp": int}
    )
    assert len(ratings) == SIZES["n_ratings"]
    assert ratings.rating.between(0.5, 5.0).all()
    assert ((ratings.rating * 2) % 1 == 0).all()
    assert ratings.rating.nunique() == 10  # the whole half-star grid is used
    assert not ratings.duplicated(["userId", "movieId"]).any()
    assert set(ratings.movieId) <= set(latest["movies"].movieId.astype(int))
    assert ratings.timestamp.between(FIRST_TS, LAST_TS).all()
    per_user = ratings.groupby("userId").size()
    assert per_user.index.tolist() == list(range(1, SIZES["n_users"] + 1))
    assert per_user.min() >= 15
    # sorted by user then movie, as ratings.csv is
    assert ratings.equals(ratings.sort_values(["userId", "movieId"], kind="stable"))
    # no rating before the 1st of January of the movie's release year
    year = latest["movies"].set_index(latest["movies"].movieId.astype(int)).title
    released = year.str.extract(TITLE)[0].astype(int)
    rated_year = pd.to_datetime(ratings.timestamp, unit="s").dt.year
    assert (rated_year.to_numpy() >= released.loc[ratings.movieId].to_numpy()).all()


def test_ml_latest_tags(latest: dict[str, pd.DataFrame]) -> None:
    tags, ratings = latest["tags"], latest["ratings"]
    assert 0 < len(tags) < 0.1 * len(ratings)
    assert not tags.duplicated(["userId", "movieId", "tag"]).any()
    rated = set(zip(ratings.userId, ratings.movieId, strict=True))
    assert set(zip(tags.userId, tags.movieId, strict=True)) <= rated
    assert tags.tag.str.len().between(1, 40).all()
    assert tags.timestamp.astype(int).between(FIRST_TS, LAST_TS).all()


def test_ml_latest_tag_genome(tmp_path: Path) -> None:
    """genome-scores.csv: every tag of genome-tags.csv once for each covered movie, relevance
    in [0, 1] with 5 decimals; two thirds of the movies, the more rated ones; and, as in the
    real genome, movies alike (here: of a shared genre) have alike relevance vectors."""
    d = tmp_path
    write_dataset(out_dir=d, layout="ml-latest", genome_tags=12, **SIZES)
    latest = {
        name: pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("ratings", "movies")
    }
    header, score_rows = _csv_rows(d / "genome-scores.csv")
    assert header == ["movieId", "tagId", "relevance"]
    header, tag_rows = _csv_rows(d / "genome-tags.csv")
    assert header == ["tagId", "tag"]
    tag_ids = [int(tag_id) for tag_id, _ in tag_rows]
    assert tag_ids == list(range(1, len(tag_ids) + 1)) and len(tag_ids) >= 10
    assert all(re.fullmatch(r"[01]\.\d{5}", value) for _, _, value in score_rows)
    scores = pd.DataFrame(score_rows, columns=["movieId", "tagId", "relevance"]).astype(
        {"movieId": int, "tagId": int, "relevance": float}
    )
    assert scores["relevance"].between(0, 1).all()
    vectors = scores.pivot(index="movieId", columns="tagId", values="relevance")
    assert not vectors.isna().any().any() and list(vectors.columns) == tag_ids
    movies = latest["movies"].astype({"movieId": int}).set_index("movieId")
    assert len(vectors) == round(2 / 3 * len(movies)) and vectors.index.isin(movies.index).all()
    raters = latest["ratings"].astype({"movieId": int}).groupby("movieId").size()
    raters = raters.reindex(movies.index, fill_value=0)
    covered = movies.index.isin(vectors.index)
    assert raters[covered].mean() > 2 * raters[~covered].mean()

    unit = vectors.to_numpy() / np.linalg.norm(vectors.to_numpy(), axis=1, keepdims=True)
    cosine = unit @ unit.T
    genres = movies.loc[vectors.index, "genres"].str.split("|").map(set).to_numpy()
    share = np.array([[bool(a & b) for b in genres] for a in genres])
    off_diagonal = ~np.eye(len(genres), dtype=bool)
    assert cosine[share & off_diagonal].mean() > cosine[~share].mean() + 0.05


def test_the_genome_takes_the_width_asked_for(tmp_path: Path) -> None:
    """--genome-tags: the named tags first, then numbered ones; the same movies covered."""
    kwargs = {"layout": "ml-latest", "n_ratings": 3_000, "n_users": 100, "n_movies": 200}
    write_dataset(out_dir=tmp_path / "narrow", genome_tags=12, **kwargs)
    write_dataset(out_dir=tmp_path / "wide", genome_tags=30, **kwargs)
    _, narrow_tags = _csv_rows(tmp_path / "narrow" / "genome-tags.csv")
    _, wide_tags = _csv_rows(tmp_path / "wide" / "genome-tags.csv")
    assert len(wide_tags) == 30 and wide_tags[: len(narrow_tags)] == narrow_tags
    assert wide_tags[-1] == ["30", "genome tag 30"]
    _, narrow = _csv_rows(tmp_path / "narrow" / "genome-scores.csv")
    _, wide = _csv_rows(tmp_path / "wide" / "genome-scores.csv")
    assert len(wide) == 30 * len(narrow) // len(narrow_tags)
    assert {row[0] for row in wide} == {row[0] for row in narrow}
    write_dataset(out_dir=tmp_path / "none", **kwargs)  # by default, like ml-latest-small
    assert not list((tmp_path / "none").glob("genome-*"))
    with pytest.raises(ValueError, match="genome_tags must not be negative"):
        write_dataset(out_dir=tmp_path / "bad", genome_tags=-1, **kwargs)


# ------------------------------------------------------------------------------ ml-10m


def test_ml_10m_dat_files(layouts: dict[str, Path], latest: dict[str, pd.DataFrame]) -> None:
    d = layouts["ml-10m"]
    assert sorted(p.name for p in d.iterdir()) == ["movies.dat", "ratings.dat", "tags.dat"]
    ratings = _rows(d / "ratings.dat", sep="::", encoding="utf-8")
    movies = _rows(d / "movies.dat", sep="::", encoding="utf-8")
    tags = _rows(d / "tags.dat", sep="::", encoding="utf-8")
    assert {len(r) for r in ratings} == {4} and {len(m) for m in movies} == {3}
    assert {len(t) for t in tags} == {4}
    assert ratings[0][0].isdigit()  # no header
    # ratings: "5", "4.5" (no ".0"); same data as the ml-latest layout
    assert all(re.fullmatch(r"[1-5]|[0-4]\.5", r[2]) for r in ratings)
    as_latest = [[u, m, f"{float(x):.1f}", t] for u, m, x, t in ratings]
    assert as_latest == latest["ratings"].to_numpy().tolist()
    assert [[i, t, g] for i, t, g in movies] == latest["movies"].to_numpy().tolist()
    assert len(tags) == len(latest["tags"])


# ------------------------------------------------------------------------------- ml-1m


def test_ml_1m_latin1_integer_ratings_and_users(
    layouts: dict[str, Path], latest: dict[str, pd.DataFrame]
) -> None:
    d = layouts["ml-1m"]
    assert sorted(p.name for p in d.iterdir()) == ["movies.dat", "ratings.dat", "users.dat"]
    ratings = _rows(d / "ratings.dat", sep="::", encoding="iso-8859-1")
    movies = _rows(d / "movies.dat", sep="::", encoding="iso-8859-1")
    users = _rows(d / "users.dat", sep="::", encoding="iso-8859-1")
    assert {len(r) for r in ratings} == {4} and {len(m) for m in movies} == {3}
    assert {r[2] for r in ratings} == {"1", "2", "3", "4", "5"}
    half_stars = latest["ratings"].rating.astype(float).tolist()
    assert [int(r[2]) for r in ratings] == [math.ceil(x) for x in half_stars]  # rounded up
    assert [r[:2] + r[3:] for r in ratings] == latest["ratings"][
        ["userId", "movieId", "timestamp"]
    ].to_numpy().tolist()
    assert [t for _, t, _ in movies] == latest["movies"].title.tolist()
    assert any(not t.isascii() for _, t, _ in movies)
    for _, _, genres in movies:
        assert set(genres.split("|")) <= ML1M_GENRES
    assert [u[0] for u in users] == [str(i) for i in range(1, SIZES["n_users"] + 1)]
    for _, gender, age, occupation, zip_code in users:
        assert gender in ("M", "F")
        assert age in ("1", "18", "25", "35", "45", "50", "56")
        assert 0 <= int(occupation) <= 20
        assert re.fullmatch(r"\d{5}(-\d{4})?", zip_code)


# ----------------------------------------------------------------------------- ml-100k


def test_ml_100k_files(layouts: dict[str, Path], latest: dict[str, pd.DataFrame]) -> None:
    d = layouts["ml-100k"]
    names = ["u.data", "u.genre", "u.info", "u.item", "u.occupation", "u.user"]
    assert sorted(p.name for p in d.iterdir()) == names
    items = _rows(d / "u.item", sep="|", encoding="latin-1")
    assert {len(i) for i in items} == {24}
    assert [i[0] for i in items] == [str(k) for k in range(1, SIZES["n_movies"] + 1)]
    assert [i[1] for i in items] == latest["movies"].title.tolist()
    for item in items:
        year = TITLE.match(item[1]).group(1)
        assert re.fullmatch(
            rf"\d\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-{year}", item[2]
        )
        assert item[3] == ""
        assert item[4].startswith("http://us.imdb.com/M/title-exact?") and " " not in item[4]
        assert set(item[5:]) <= {"0", "1"} and "1" in item[5:]
    genre_names = [line.split("|")[0] for line in (d / "u.genre").read_text().split("\n")[:-2]]
    assert len(genre_names) == 19 and genre_names[0] == "unknown"
    for item, genres in zip(items, latest["movies"].genres, strict=True):
        flagged = {genre_names[k] for k, flag in enumerate(item[5:]) if flag == "1"}
        expected = {"Children's" if g == "Children" else g for g in genres.split("|")}
        expected -= {"IMAX"}
        assert flagged == (expected - {"(no genres listed)"} or {"unknown"})

    data = pd.read_csv(d / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"])
    assert data.r.isin([1, 2, 3, 4, 5]).all()
    assert set(data.i) <= set(range(1, SIZES["n_movies"] + 1))
    assert not data.duplicated(["u", "i"]).any()
    # the same ratings as ml-latest, rounded up, with movies renumbered 1..n
    renumber = {m: k + 1 for k, m in enumerate(latest["movies"].movieId.astype(int))}
    expected = sorted(
        (int(u), renumber[int(m)], math.ceil(float(r)), int(t))
        for u, m, r, t in latest["ratings"].to_numpy().tolist()
    )
    assert sorted(data.itertuples(index=False, name=None)) == expected
    assert not data.u.is_monotonic_increasing  # u.data is randomly ordered

    users = _rows(d / "u.user", sep="|", encoding="latin-1")
    assert len(users) == SIZES["n_users"] and {len(u) for u in users} == {5}
    occupations = (d / "u.occupation").read_text().split()
    for _, age, gender, occupation, _zip in users:
        assert 7 <= int(age) <= 73 and gender in ("M", "F") and occupation in occupations
    assert (d / "u.info").read_text().split("\n")[:3] == [
        f"{SIZES['n_users']} users",
        f"{SIZES['n_movies']} items",
        f"{SIZES['n_ratings']} ratings",
    ]


def test_ml_100k_genre_and_occupation_lists_equal_the_real_files(
    layouts: dict[str, Path], ml_100k: Path
) -> None:
    for name in ("u.genre", "u.occupation"):
        assert (layouts["ml-100k"] / name).read_bytes() == (ml_100k / name).read_bytes()


# ----------------------------------------------------------------------------- shape


def test_user_activity_is_skewed_and_movie_popularity_zipf_like(
    demo: dict[str, pd.DataFrame],
) -> None:
    good = demo["good"]
    per_user = good.groupby("userId").size().sort_values(ascending=False)
    assert len(per_user) == 400 and per_user.min() >= 15
    assert per_user.iloc[:40].sum() > 0.30 * len(good)
    per_movie = good.groupby("movieId").size().sort_values(ascending=False)
    assert len(per_movie) > 800
    assert per_movie.iloc[:10].min() >= 100
    assert per_movie.iloc[: len(per_movie) // 10].sum() > 0.3 * len(good)
    ranks = np.arange(1, 201)
    slope = np.polyfit(np.log(ranks), np.log(per_movie.iloc[:200].to_numpy()), 1)[0]
    assert -1.5 < slope < -0.3


def test_rating_distribution_is_movielens_like(demo: dict[str, pd.DataFrame]) -> None:
    ratings = demo["good"].rating
    assert 3.2 < ratings.mean() < 3.8 and 0.8 < ratings.std() < 1.2
    shares = ratings.value_counts(normalize=True)
    assert shares.idxmax() in (3.0, 4.0)
    assert shares[[1.0, 2.0, 3.0, 4.0, 5.0]].sum() > shares[[0.5, 1.5, 2.5, 3.5, 4.5]].sum()


@pytest.fixture(scope="module")
def demo_pairs(demo: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Movie pairs co-rated by >= 10 users: raw cosine and residual cosine."""
    good = demo["good"][["userId", "movieId", "rating"]].copy()
    mean = good.rating.mean()
    good["residual"] = (
        good.rating
        - good.groupby("userId").rating.transform("mean")
        - good.groupby("movieId").rating.transform("mean")
        + mean
    )
    pairs = good.merge(good, on="userId")
    pairs = pairs[pairs.movieId_x < pairs.movieId_y]
    for col in ("rating", "residual"):
        pairs[f"{col}_xy"] = pairs[f"{col}_x"] * pairs[f"{col}_y"]
        pairs[f"{col}_xx"] = pairs[f"{col}_x"] ** 2
        pairs[f"{col}_yy"] = pairs[f"{col}_y"] ** 2
    sums = pairs.groupby(["movieId_x", "movieId_y"]).agg(
        n=("rating_xy", "size"),
        **{c: (c, "sum") for c in pairs.columns if c.endswith(("_xy", "_xx", "_yy"))},
    )
    sums = sums[sums.n >= 10].reset_index()
    for col in ("rating", "residual"):
        sums[col] = sums[f"{col}_xy"] / np.sqrt(sums[f"{col}_xx"] * sums[f"{col}_yy"])
    return sums


def test_item_item_cosine_finds_hundreds_of_similar_pairs(demo_pairs: pd.DataFrame) -> None:
    # the cosine seed's filter: >= 10 co-raters, cosine >= 0.95 over raw ratings
    assert (demo_pairs.rating >= 0.95).sum() >= 500
    assert (demo_pairs.rating < 0.95).sum() >= 500  # and it is a filter, not everything


def test_ratings_carry_genre_driven_latent_signal(
    demo_pairs: pd.DataFrame, demo: dict[str, pd.DataFrame]
) -> None:
    genres = dict(
        zip(demo["movies"].movieId.astype(int), demo["movies"].genres.str.split("|"), strict=True)
    )
    share = np.array(
        [
            bool(set(genres[a]) & set(genres[b]))
            for a, b in zip(demo_pairs.movieId_x, demo_pairs.movieId_y, strict=True)
        ]
    )
    # after removing user and movie means, movies sharing a genre still move together
    together = demo_pairs.residual[share].mean()
    apart = demo_pairs.residual[~share].mean()
    assert together - apart > 0.05


@pytest.mark.parametrize(
    ("n_ratings", "per_user"),
    [(20 * 15, 15), (20 * 30, 30)],  # everyone at the floor; everyone at 60% of 50 movies
)
def test_exact_rating_counts_at_the_size_limits(
    tmp_path: Path, n_ratings: int, per_user: int
) -> None:
    write_dataset(
        out_dir=tmp_path, layout="ml-latest", n_ratings=n_ratings, n_users=20, n_movies=50
    )
    ratings = pd.read_csv(tmp_path / "ratings.csv")
    assert ratings.groupby("userId").size().tolist() == [per_user] * 20
    assert not ratings.duplicated(["userId", "movieId"]).any()


# ----------------------------------------------------------------------------- defects


def test_demo_defects_are_the_last_rows_of_the_committed_ratings(
    demo: dict[str, pd.DataFrame],
) -> None:
    written = demo["bad"][["userId", "movieId", "rating", "timestamp"]].to_numpy().tolist()
    declared = [[d.user_id, d.movie_id, d.rating, d.timestamp] for d in DEMO_DEFECTS]
    assert written == declared
    assert (
        {d.reason for d in DEMO_DEFECTS}
        == set(DEFECT_REASONS)
        == {
            "rating_out_of_range",
            "unparseable_value",
            "null_key",
            "duplicate_key",
            "unknown_movie",
        }
    )


def test_each_demo_defect_has_exactly_its_declared_flaw(demo: dict[str, pd.DataFrame]) -> None:
    good = demo["good"]
    movie_ids = set(demo["movies"].movieId.astype(int))
    good_pairs = dict(zip(zip(good.userId, good.movieId, strict=True), good.timestamp, strict=True))
    # the good rows have none of the flaws
    assert good.rating.between(0.5, 5).all() and ((good.rating * 2) % 1 == 0).all()
    assert not good.duplicated(["userId", "movieId"]).any()
    assert set(good.movieId) <= movie_ids

    def number(text: str) -> float | None:
        try:
            return float(text)
        except ValueError:
            return None

    for d in DEMO_DEFECTS:
        rating = number(d.rating)
        flaws = set()
        if d.user_id == "" or d.movie_id == "":
            flaws.add("null_key")
        if rating is None:
            flaws.add("unparseable_value")
        elif not 0.5 <= rating <= 5:
            flaws.add("rating_out_of_range")
        if d.user_id and int(d.movie_id) not in movie_ids:
            flaws.add("unknown_movie")
        if d.user_id and (int(d.user_id), int(d.movie_id)) in good_pairs:
            flaws.add("duplicate_key")
            assert int(d.timestamp) > good_pairs[(int(d.user_id), int(d.movie_id))]
            original = good[
                (good.userId == int(d.user_id)) & (good.movieId == int(d.movie_id))
            ].iloc[0]
            assert d.original == (
                d.user_id,
                d.movie_id,
                f"{original.rating:.1f}",
                str(int(original.timestamp)),
            )
            assert float(d.rating) != original.rating
        else:
            assert d.original is None
        assert flaws == {d.reason}, d
        assert d.timestamp.isdigit()


def test_bad_rows_for_another_seed_follow_the_same_rules(tmp_path: Path) -> None:
    summary = write_dataset(
        out_dir=tmp_path, layout="ml-latest", n_ratings=3_000, n_users=100, n_movies=200,
        seed=99, bad_rows=True,
    )  # fmt: skip
    ratings = pd.read_csv(tmp_path / "ratings.csv", dtype=str, keep_default_na=False)
    assert len(ratings) == 3_000 + len(summary.defects)
    tail = ratings.iloc[-len(summary.defects) :].to_numpy().tolist()
    assert tail == [[d.user_id, d.movie_id, d.rating, d.timestamp] for d in summary.defects]
    assert [d.reason for d in summary.defects] == [d.reason for d in DEMO_DEFECTS]
    assert ratings.iloc[:-6].duplicated(["userId", "movieId"]).sum() == 0
    assert ratings.duplicated(["userId", "movieId"]).sum() == 1


# ------------------------------------------------------------------------- CLI, errors


def test_progress_is_reported_per_tenth_of_users(tmp_path: Path) -> None:
    lines: list[str] = []
    summary = write_dataset(
        out_dir=tmp_path, layout="ml-latest", n_ratings=60_000, n_users=3_000, n_movies=400,
        seed=3, progress=lines.append,
    )  # fmt: skip
    assert lines == [
        " 33% of users (1000/3000)",
        " 67% of users (2000/3000)",
        "100% of users (3000/3000)",
    ]
    assert summary.users == 3_000 and summary.ratings == 60_000
    assert sum(1 for _ in (tmp_path / "ratings.csv").open()) == 60_001


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "ml-20m"}, "unknown layout"),
        ({"layout": "ml-1m", "bad_rows": True}, "bad_rows"),
        ({"layout": "ml-latest", "n_ratings": 100, "n_users": 10}, "cannot give"),
        ({"layout": "ml-latest", "n_ratings": 10_000, "n_users": 10, "n_movies": 50}, "exceed"),
        ({"layout": "ml-latest", "n_ratings": 0}, "positive"),
    ],
)
def test_impossible_requests_fail_early(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_dataset(out_dir=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_cli_rejects_bad_arguments_with_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--layout", "ml-latest", "--ratings", "100", "--users", "50", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "cannot give" in capsys.readouterr().err


def test_cli_sizes_and_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--layout", "ml-10m", "--ratings", "4000", "--out", str(tmp_path), "--seed", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("ml-10m: 80 users, ") and " 4000 ratings (+0 bad rows)" in out
    assert sum(1 for _ in (tmp_path / "ratings.dat").open()) == 4_000
    assert generator.default_users(n_ratings=4_000) == 80
