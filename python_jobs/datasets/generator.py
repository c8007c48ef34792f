"""Deterministic MovieLens-shaped data generator.

Writes synthetic data sets that look like the MovieLens releases (``ml-latest``,
``ml-10m``, ``ml-1m``, ``ml-100k``) plus the small ``demo_*.csv`` dbt seeds. Everything
follows from one integer seed: the same seed gives byte-identical files.

The model behind the numbers:

* users have heavy-tailed activity (a floor of ``min_ratings_per_user`` ratings each,
  Pareto-distributed extra ratings, capped at a share of the catalogue);
* movies have Zipf-like popularity; each user rates distinct movies drawn with
  probability proportional to popularity, without replacement;
* a rating is ``mean + user bias + movie bias + user factors . movie factors + noise``,
  where movie factors lean on the movie's genres, so item-item similarity and ALS have
  real signal. About half the users rate on the half-star grid (0.5..5.0), the rest
  in whole stars (1..5), like MovieLens before 2003;
* timestamps are unix seconds between 1996-03-29 and 2018-09-24 (the span of
  ml-latest-small), never before the 1st of January of the movie's release year.

Ratings are generated in fixed blocks of users with one random stream per block, so
memory stays flat however many ratings are written, and the output does not depend on
how the blocks are consumed.

Usage::

    python -m python_jobs.datasets.generator --layout ml-latest --ratings 1000000 --out DIR
    python -m python_jobs.datasets.generator --layout dbt-seeds --out seeds
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np

from python_jobs.datasets.layouts import GENRES_100K, EntityFile
from python_jobs.datasets.layouts import LAYOUTS as RELEASES

# --------------------------------------------------------------------------- constants

SEEDS_LAYOUT = "dbt-seeds"
LAYOUTS = (*RELEASES, SEEDS_LAYOUT)
"""What the generator writes: each MovieLens release of ``layouts.LAYOUTS``, by that table,
and the dbt seeds (the ml-latest files, named ``demo_*``)."""

DEMO_SEED = 20240601
DEMO_USERS = 400
DEMO_MOVIES = 900
DEMO_RATINGS = 20_000

MIN_RATINGS_PER_USER = 15
BLOCK_USERS = 1_000
"""Users per generation block; part of the output's definition (changing it changes data)."""

FIRST_TIMESTAMP = 828_124_615  # 1996-03-29, the first rating in ml-latest-small
LAST_TIMESTAMP = 1_537_799_250  # 2018-09-24, the last one

GENRES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
"""ml-latest / ml-10m genre names (alphabetical, as MovieLens lists a movie's genres)."""

NO_GENRES = "(no genres listed)"

OCCUPATIONS_100K = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip
AGES_1M = (1, 18, 25, 35, 45, 50, 56)
"""ml-1m age-group codes (under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+)."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# How often each genre is drawn (roughly ml-latest-small's counts).
_GENRE_WEIGHTS = np.array(
    [1828, 1263, 611, 664, 3756, 1199, 440, 4361, 779, 87, 978, 158, 334, 573, 1596, 980, 1894]
    + [382, 167],
    dtype=float,
)

# ------------------------------------------------------------------------------ defects

REASON_OUT_OF_RANGE = "rating_out_of_range"
REASON_UNPARSEABLE = "unparseable_value"
REASON_NULL_KEY = "null_key"
REASON_DUPLICATE = "duplicate_key"
REASON_UNKNOWN_MOVIE = "unknown_movie"
DEFECT_REASONS = (
    REASON_OUT_OF_RANGE, REASON_UNPARSEABLE, REASON_NULL_KEY, REASON_DUPLICATE,
    REASON_UNKNOWN_MOVIE,
)  # fmt: skip


@dataclass(frozen=True)
class Defect:
    """One deliberately bad ratings row, with every field exactly as written to the file.

    Attributes
    ----------
    reason
        The reject class (one of ``DEFECT_REASONS``).
    user_id, movie_id, rating, timestamp
        The row's raw field text (``""`` is an empty field).
    note
        What is wrong, for humans.
    original
        For the duplicate only: the earlier good row (user, movie, rating, timestamp, in the
        ml-latest format) it repeats. A dedupe that keeps the latest rating of a
        (user, movie) keeps the defect row and rejects this one.
    """

    reason: str
    user_id: str
    movie_id: str
    rating: str
    timestamp: str
    note: str
    original: tuple[str, str, str, str] | None = None


DEMO_DEFECTS: tuple[Defect, ...] = (
    Defect(REASON_OUT_OF_RANGE, "1", "326", "7.0", "1534511016", "rating above 5.0"),
    Defect(
        REASON_OUT_OF_RANGE, "2", "1271", "0.0", "1537547215", "rating below 0.5 (no zero stars)"
    ),
    Defect(REASON_UNPARSEABLE, "3", "1363", "four", "1537534030", "rating is not a number"),
    Defect(REASON_NULL_KEY, "", "674", "3.5", "1462435678", "empty userId"),
    Defect(
        REASON_DUPLICATE,
        "5",
        "674",
        "1.0",
        "832472998",
        "second rating of (user, movie) already rated earlier, later timestamp",
        ("5", "674", "5.0", "832386598"),
    ),
    Defect(REASON_UNKNOWN_MOVIE, "6", "2847", "4.0", "1521686819", "movieId not in movies"),
)
"""The defects appended to ``seeds/demo_ratings.csv`` (the demo defaults with ``bad_rows``).

In file order, after all good rows. The duplicate repeats the (user, movie) of a good row
(its ``original``) with a later timestamp and another rating, so a keep-the-latest dedupe
rejects the original row, not the defect row; for every other defect the (user, movie)
pair is not in the good rows. ``make_defects`` computes the same list for any seed; a test
pins the two together.
"""

# ------------------------------------------------------------------------- word lists

_ADJECTIVES = (
    "Silent", "Broken", "Golden", "Last", "Hidden", "Crimson", "Distant", "Wild", "Lonely",
    "Burning", "Frozen", "Lost", "Secret", "Dark", "Bright", "Endless", "Quiet", "Savage",
    "Electric", "Midnight", "Final", "Bitter", "Sweet", "Restless", "Hollow", "Iron",
    "Velvet", "Stolen", "Forgotten", "Little", "Great", "Red", "Blue", "Black", "White",
    "Wicked", "Gentle", "Strange", "Northern", "Eternal",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Kingdom", "River", "Garden", "Mirror", "Horizon", "Storm", "Summer",
    "Winter", "City", "Road", "Island", "Shadow", "Heart", "Dream", "Night", "Empire",
    "Forest", "Letter", "Promise", "Machine", "Station", "Hotel", "Crown", "Voyage",
    "Witness", "Stranger", "Daughter", "Brother", "Soldier", "Detective", "Dancer",
    "Queen", "Thief", "Ghost", "Planet", "Signal", "Canyon", "Lighthouse", "Orchard",
    "Frontier", "Symphony", "Carnival", "Labyrinth", "Mountain", "Desert", "Valley",
    "Bridge", "Tower", "Window",
)  # fmt: skip
_PLACES = (
    "Paris", "Tokyo", "Berlin", "Rome", "Cairo", "Lisbon", "Havana", "Montréal", "Zürich",
    "São Paulo", "Reykjavík", "Málaga", "Kraków", "Brooklyn", "Texas", "Mars",
)  # fmt: skip
_FOREIGN = (
    "La Nuit étoilée", "Le Café des Rêves", "Les Enfants du Marché", "El Camino del Señor",
    "Der Große Traum", "La Città Perduta", "O Céu de Lisboa", "Il Ragazzo e il Mare",
    "El Niño y la Luna", "Les Années Lumière", "Die Stille Zeit", "La Mañana Dorada",
    "Le Dernier Été", "Sånger från havet", "Ett år på ön", "Le Chant Brûlé",
)  # fmt: skip
_ARTICLES = ("La ", "Le ", "Les ", "El ", "Der ", "Die ", "Il ", "O ")
_NICKNAMES = ("Night Owl", "Lucky", "The Fox", "Blue Moon", "Ace", "Red")
_TAGS = (
    "atmospheric", "twist ending", "based on a book", "dark comedy", "visually appealing",
    "thought-provoking", "funny", "quirky", "slow", "great soundtrack", "cliché",
    "Oscar (Best Picture)", "classic", "overrated", "feel-good", "cult film",
    "funny, but dark", '"artsy"', "noir", "sci-fi", "romance", "violent", "naïve",
    "beautiful cinematography", "predictable", "must see",
)  # fmt: skip
_GENOME_TAGS = (
    "action", "atmospheric", "dark", "dialogue", "epic", "family", "feel-good", "funny",
    "romantic", "suspense", "thought-provoking", "violent",
)  # fmt: skip
"""The generated tag genome's tags (the real genome has 1,128)."""
GENOME_ENTITIES = ("genome_scores", "genome_tags")
DEMO_GENOME_TAGS = len(_GENOME_TAGS)
"""The demo seeds' genome width; other data sets have no genome unless ``genome_tags`` asks
(ml-latest-small has none; ml-latest, ML-20M and ML-25M have 1,128 tags)."""
GENOME_SHARE = 2 / 3
"""The share of movies the generated genome covers: the most popular ones (the real genome
covers the movies with enough ratings and tags to learn from)."""


# ------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Catalog:
    """Everything about movies and users that is fixed before ratings are generated.

    Attributes
    ----------
    seed
        The generator seed.
    movie_ids
        MovieLens-style movie ids (increasing, with gaps), shape ``(n_movies,)``.
    titles
        ``"Title (yyyy)"`` strings.
    years
        Release years.
    genres
        Per movie a tuple of genre names from ``GENRES`` (empty: no genres listed).
    imdb_ids, tmdb_ids
        Link ids (``tmdb_ids`` is ``-1`` where missing, as a few are in MovieLens).
    popularity
        Sampling weight of each movie (sums to 1).
    movie_bias, movie_factors
        The latent model's movie terms.
    user_counts
        Number of good ratings per user (user ``i`` has id ``i + 1``).
    """

    seed: int
    movie_ids: np.ndarray
    titles: tuple[str, ...]
    years: np.ndarray
    genres: tuple[tuple[str, ...], ...]
    imdb_ids: np.ndarray
    tmdb_ids: np.ndarray
    popularity: np.ndarray
    movie_bias: np.ndarray
    movie_factors: np.ndarray
    user_counts: np.ndarray

    @property
    def n_users(self) -> int:
        """Number of users."""
        return int(self.user_counts.size)

    @property
    def n_movies(self) -> int:
        """Number of movies."""
        return int(self.movie_ids.size)

    @property
    def n_ratings(self) -> int:
        """Number of good ratings."""
        return int(self.user_counts.sum())


@dataclass(frozen=True)
class RatingBlock:
    """The ratings (and tags) of one block of users, sorted by user then movie.

    ``movie_index`` indexes the catalogue arrays; ``rating`` is on the half-star grid.
    Tag arrays are sorted the same way.
    """

    user_id: np.ndarray
    movie_index: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    tag_user_id: np.ndarray
    tag_movie_index: np.ndarray
    tag_text: tuple[str, ...]
    tag_timestamp: np.ndarray


_N_FACTORS = 10


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def default_users(*, n_ratings: int) -> int:
    """Default number of users for ``n_ratings`` ratings (50 ratings per user on average).

    Parameters
    ----------
    n_ratings
        Number of good ratings.
    """
    return max(1, n_ratings // 50)


def default_movies(*, n_ratings: int) -> int:
    """Default catalogue size: grows like the square root of the number of ratings.

    Parameters
    ----------
    n_ratings
        Number of good ratings.
    """
    return max(50, round(DEMO_MOVIES * (n_ratings / DEMO_RATINGS) ** 0.5))


def _user_counts(
    *, rng: np.random.Generator, n_users: int, n_ratings: int, cap: int, minimum: int
) -> np.ndarray:
    """Heavy-tailed ratings-per-user counts summing exactly to ``n_ratings``."""
    weights = rng.pareto(1.1, size=n_users) + 0.05
    counts = np.full(n_users, minimum, dtype=np.int64)
    extra = n_ratings - minimum * n_users
    free = np.ones(n_users, dtype=bool)
    while extra > 0:
        share = weights * free
        quota = extra * share / share.sum()
        room = cap - counts
        add = np.minimum(np.floor(quota).astype(np.int64), room)
        if add.sum() == 0:  # one more each for the largest remainders among users with room
            open_users = np.flatnonzero(room > 0)
            remainder = quota[open_users] - np.floor(quota[open_users])
            add = np.zeros(n_users, dtype=np.int64)
            add[open_users[np.argsort(-remainder, kind="stable")[:extra]]] = 1
        counts += add
        extra -= int(add.sum())
        free = counts < cap
    return counts


def _genre_sets(*, rng: np.random.Generator, n_movies: int) -> list[tuple[str, ...]]:
    probabilities = _GENRE_WEIGHTS / _GENRE_WEIGHTS.sum()
    sizes = np.minimum(rng.geometric(0.55, size=n_movies), 5)
    none = rng.random(n_movies) < 0.005
    out: list[tuple[str, ...]] = []
    for size, empty in zip(sizes.tolist(), none.tolist(), strict=True):
        if empty:
            out.append(())
            continue
        picked = rng.choice(len(GENRES), size=size, replace=False, p=probabilities)
        out.append(tuple(sorted(GENRES[i] for i in picked)))
    return out


def _move_article(phrase: str) -> str:
    """``"La Nuit étoilée"`` -> ``"Nuit étoilée, La"`` (MovieLens style)."""
    for article in _ARTICLES + ("The ",):
        if phrase.startswith(article):
            return f"{phrase[len(article) :]}, {article.strip()}"
    return phrase


def _plural(noun: str) -> str:
    if noun in ("Thief",):
        return "Thieves"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _title(*, rng: np.random.Generator) -> str:
    """One title without the year, from the word lists."""
    adj = _ADJECTIVES[rng.integers(len(_ADJECTIVES))]
    noun = _NOUNS[rng.integers(len(_NOUNS))]
    noun2 = _NOUNS[rng.integers(len(_NOUNS))]
    place = _PLACES[rng.integers(len(_PLACES))]
    foreign = _FOREIGN[rng.integers(len(_FOREIGN))]
    style = rng.random()
    if style < 0.30:
        return f"{adj} {noun}"
    if style < 0.45:
        return f"{adj} {noun}, The"
    if style < 0.52:
        return f"The {noun} of {place}"
    if style < 0.62:
        return f"{noun} of the {noun2}"
    if style < 0.68:
        return f"{_plural(noun)}, {_plural(noun2)} and Other {adj} Things"
    if style < 0.76:
        return f"{adj} {noun} ({_move_article(foreign)})"
    if style < 0.82:
        return _move_article(foreign)
    if style < 0.84:
        return f'{noun} "{_NICKNAMES[rng.integers(len(_NICKNAMES))]}" {noun2}'
    if style < 0.92:
        return f"{noun} in {place}"
    return f"{adj} {noun}: The {noun2}"


def _titles(*, rng: np.random.Generator, years: np.ndarray) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for year in years.tolist():
        while True:
            title = f"{_title(rng=rng)} ({year})"
            if title not in seen:
                break
            year_sequel = f"{title[: -len(f' ({year})')]} {int(rng.integers(2, 5))} ({year})"
            if year_sequel not in seen:
                title = year_sequel
                break
        seen.add(title)
        out.append(title)
    return out


def build_catalog(
    *,
    seed: int,
    n_users: int,
    n_movies: int,
    n_ratings: int,
    min_ratings_per_user: int = MIN_RATINGS_PER_USER,
) -> Catalog:
    """Draw the movies (titles, genres, links, popularity, factors) and per-user counts.

    Parameters
    ----------
    seed
        Generator seed.
    n_users, n_movies
        Catalogue sizes.
    n_ratings
        Total good ratings (distributed over users, heavy-tailed).
    min_ratings_per_user
        Floor on each user's number of ratings.

    Raises
    ------
    ValueError
        When the sizes are impossible (e.g. fewer ratings than users times the floor).
    """
    if n_users < 1 or n_movies < 1:
        raise ValueError(f"need at least one user and one movie, got {n_users=}, {n_movies=}")
    if min_ratings_per_user < 1:
        raise ValueError(f"min_ratings_per_user must be >= 1, got {min_ratings_per_user}")
    if min_ratings_per_user > n_movies:
        raise ValueError(
            f"min_ratings_per_user={min_ratings_per_user} exceeds the {n_movies} movies"
        )
    cap = max(min_ratings_per_user, int(0.6 * n_movies))
    if n_ratings < min_ratings_per_user * n_users:
        raise ValueError(
            f"{n_ratings} ratings cannot give {n_users} users {min_ratings_per_user} each; "
            "lower --users or raise --ratings"
        )
    if n_ratings > cap * n_users:
        raise ValueError(
            f"{n_ratings} ratings exceed {n_users} users x {cap} movies each "
            f"(60% of {n_movies} movies); raise --users or --movies"
        )
    rng = _rng(seed, 0)
    gaps = 1 + (rng.random(n_movies) < 0.1) * rng.integers(1, 20, size=n_movies)
    gaps[0] = 1
    movie_ids = np.cumsum(gaps).astype(np.int64)
    years = np.clip(np.round(2018 - rng.gamma(1.6, 11.0, size=n_movies)), 1915, 2018)
    years = years.astype(np.int64)
    genres = _genre_sets(rng=rng, n_movies=n_movies)
    titles = _titles(rng=rng, years=years)
    imdb_ids = rng.choice(np.arange(10_000, 9_999_999), size=n_movies, replace=False)
    tmdb_ids = rng.choice(np.arange(2, 600_000), size=n_movies, replace=False)
    tmdb_ids[rng.random(n_movies) < 0.005] = -1

    # Zipf-like popularity over a random ranking of the movies.
    rank = rng.permutation(n_movies)
    popularity = 1.0 / (rank + 8.0) ** 1.1
    popularity /= popularity.sum()

    # Movie factors lean on the genres, so movies of a genre are alike.
    genre_vectors = rng.normal(0.0, 1.0, size=(len(GENRES), _N_FACTORS))
    factors = rng.normal(0.0, 0.6, size=(n_movies, _N_FACTORS))
    index = {name: i for i, name in enumerate(GENRES)}
    for i, names in enumerate(genres):
        if names:
            factors[i] += genre_vectors[[index[n] for n in names]].mean(axis=0)
    factors *= 0.25
    log_pop = np.log(popularity)
    movie_bias = 0.35 * rng.normal(size=n_movies) + 0.12 * (log_pop - popularity @ log_pop)

    counts = _user_counts(
        rng=rng, n_users=n_users, n_ratings=n_ratings, cap=cap, minimum=min_ratings_per_user
    )
    return Catalog(
        seed=seed,
        movie_ids=movie_ids,
        titles=tuple(titles),
        years=years,
        genres=tuple(genres),
        imdb_ids=imdb_ids.astype(np.int64),
        tmdb_ids=tmdb_ids.astype(np.int64),
        popularity=popularity,
        movie_bias=movie_bias,
        movie_factors=factors,
        user_counts=counts,
    )


# ------------------------------------------------------------------------- the ratings


def _pick_movies(
    *, rng: np.random.Generator, counts: np.ndarray, cdf: np.ndarray, log_pop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct popularity-weighted movies per user: (local user index, movie index).

    Light users: draw with replacement, keep each user's first distinct ``count`` movies
    (which is sampling without replacement). Heavy users and the rare light user left
    short: Gumbel top-k over the whole catalogue (the same distribution).
    """
    n_movies = cdf.size
    heavy = counts > max(20, n_movies // 8)
    light = np.flatnonzero(~heavy)
    draws_per_user = (counts[light] * 3) // 2 + 10
    owner = np.repeat(light, draws_per_user)
    movie = np.searchsorted(cdf, rng.random(owner.size), side="right")
    movie = np.minimum(movie, n_movies - 1)
    key = owner * n_movies + movie
    unique_key, first = np.unique(key, return_index=True)
    order = np.lexsort((first, unique_key // n_movies))
    unique_key = unique_key[order]
    user = unique_key // n_movies
    starts = np.searchsorted(user, np.arange(counts.size))
    within = np.arange(user.size) - starts[user]
    keep = within < counts[user]
    users = [user[keep]]
    movies = [unique_key[keep] % n_movies]
    got = np.bincount(users[0], minlength=counts.size)
    short = set(np.flatnonzero(~heavy & (got < counts)).tolist())
    if short:
        drop = np.isin(users[0], list(short))
        users[0], movies[0] = users[0][~drop], movies[0][~drop]
    for u in sorted(short | set(np.flatnonzero(heavy).tolist())):
        keys = log_pop + rng.gumbel(size=n_movies)
        top = np.argpartition(-keys, counts[u] - 1)[: counts[u]]
        users.append(np.full(top.size, u, dtype=np.int64))
        movies.append(top.astype(np.int64))
    return np.concatenate(users), np.concatenate(movies)


def iter_rating_blocks(*, catalog: Catalog) -> Iterator[RatingBlock]:
    """Yield the good ratings block by block (``BLOCK_USERS`` users each).

    Parameters
    ----------
    catalog
        From ``build_catalog``.
    """
    cdf = np.cumsum(catalog.popularity)
    cdf /= cdf[-1]
    log_pop = np.log(catalog.popularity)
    year_start = np.array(
        [int(datetime(y, 1, 1, tzinfo=timezone.utc).timestamp()) for y in range(1915, 2020)]
    )[catalog.years - 1915]
    for block, first in enumerate(range(0, catalog.n_users, BLOCK_USERS)):
        rng = _rng(catalog.seed, 1, block)
        counts = catalog.user_counts[first : first + BLOCK_USERS]
        n = counts.size
        local, movie = _pick_movies(rng=rng, counts=counts, cdf=cdf, log_pop=log_pop)
        order = np.lexsort((catalog.movie_ids[movie], local))
        local, movie = local[order], movie[order]

        user_bias = rng.normal(0.0, 0.45, size=n)
        user_factors = rng.normal(0.0, 1.0, size=(n, _N_FACTORS))
        half_stars = rng.random(n) < 0.55
        score = (
            3.65
            + user_bias[local]
            + catalog.movie_bias[movie]
            + np.einsum("ij,ij->i", user_factors[local], catalog.movie_factors[movie])
            + rng.normal(0.0, 0.45, size=local.size)
        )
        half = half_stars[local]
        rating = np.where(
            half,
            np.clip(np.floor(score * 2 + 0.5) / 2, 0.5, 5.0),
            np.clip(np.floor(score + 0.5), 1.0, 5.0),
        )

        start = rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP, size=n)
        span = np.where(
            rng.random(n) < 0.7,
            rng.exponential(3 * 3600.0, size=n),
            rng.exponential(365 * 86400.0, size=n),
        )
        ts = start[local] + (rng.random(local.size) * span[local]).astype(np.int64)
        ts = np.minimum(ts, LAST_TIMESTAMP)
        floor = year_start[movie]
        early = ts < floor
        ts[early] = floor[early] + (
            rng.random(int(early.sum())) * (LAST_TIMESTAMP - floor[early])
        ).astype(np.int64)

        # Tags: one user in ten tags, each of their ratings with 15% probability.
        tagger = rng.random(n) < 0.1
        tagged = np.flatnonzero(tagger[local] & (rng.random(local.size) < 0.15))
        n_tags = 1 + (rng.random(tagged.size) < 0.3)
        rows = np.repeat(tagged, n_tags)
        texts = rng.integers(len(_TAGS), size=rows.size)
        pair = rows * len(_TAGS) + texts
        _, first_of = np.unique(pair, return_index=True)  # no (user, movie, tag) twice
        first_of = np.sort(first_of)
        rows, texts = rows[first_of], texts[first_of]
        tag_ts = ts[rows] + rng.integers(5, 600, size=rows.size)
        yield RatingBlock(
            user_id=local + first + 1,
            movie_index=movie,
            rating=rating,
            timestamp=ts,
            tag_user_id=local[rows] + first + 1,
            tag_movie_index=movie[rows],
            tag_text=tuple(_TAGS[t] for t in texts.tolist()),
            tag_timestamp=np.minimum(tag_ts, LAST_TIMESTAMP),
        )


def make_defects(*, catalog: Catalog, first_block: RatingBlock) -> tuple[Defect, ...]:
    """The deliberate bad rows for a data set, built from its first block of ratings.

    Parameters
    ----------
    catalog
        The catalogue (for a movie id that does not exist).
    first_block
        The first ``RatingBlock`` (users 1..6 must be in it).
    """
    if catalog.n_users < 6:
        raise ValueError("bad_rows needs at least 6 users")

    def rows_of(user: int) -> tuple[np.ndarray, np.ndarray]:
        mask = first_block.user_id == user
        return first_block.movie_index[mask], first_block.timestamp[mask]

    def unrated_movie(user: int) -> tuple[str, str]:
        movies, ts = rows_of(user)
        rated = set(movies.tolist())
        best = next(int(i) for i in np.argsort(-catalog.popularity) if int(i) not in rated)
        return str(catalog.movie_ids[best]), str(int(ts.max()) + 60)

    m1, t1 = unrated_movie(1)
    m2, t2 = unrated_movie(2)
    m3, t3 = unrated_movie(3)
    m4, t4 = unrated_movie(4)
    dup_movies, dup_ts = rows_of(5)
    dup = int(np.argmax(catalog.popularity[dup_movies]))
    dup_rating = float(first_block.rating[first_block.user_id == 5][dup])
    dup_movie = str(catalog.movie_ids[dup_movies[dup]])
    unknown = str(int(catalog.movie_ids[-1]) + 1000)
    _, ts6 = rows_of(6)
    return (
        Defect(REASON_OUT_OF_RANGE, "1", m1, "7.0", t1, "rating above 5.0"),
        Defect(REASON_OUT_OF_RANGE, "2", m2, "0.0", t2, "rating below 0.5 (no zero stars)"),
        Defect(REASON_UNPARSEABLE, "3", m3, "four", t3, "rating is not a number"),
        Defect(REASON_NULL_KEY, "", m4, "3.5", t4, "empty userId"),
        Defect(
            REASON_DUPLICATE,
            "5",
            dup_movie,
            "1.0" if dup_rating >= 3.0 else "5.0",
            str(int(dup_ts[dup]) + 86_400),
            "second rating of (user, movie) already rated earlier, later timestamp",
            ("5", dup_movie, f"{dup_rating:.1f}", str(int(dup_ts[dup]))),
        ),
        Defect(
            REASON_UNKNOWN_MOVIE, "6", unknown, "4.0", str(int(ts6.max()) + 60),
            "movieId not in movies",
        ),
    )  # fmt: skip


# ------------------------------------------------------------------------------ writers

_HALF_STAR_TEXT = tuple(f"{i / 2:.1f}" for i in range(11))  # "0.0".."5.0"
_DAT_RATING_TEXT = tuple(f"{i / 2:g}" for i in range(11))  # "5", "4.5"


@dataclass(frozen=True)
class Summary:
    """What ``write_dataset`` wrote.

    Attributes
    ----------
    layout
        The layout written.
    users, movies, ratings, tags
        Counts (``ratings`` excludes the defects).
    defects
        The bad rows appended to the ratings file (empty without ``bad_rows``).
    files
        The files written, ratings file first.
    seconds
        Wall time.
    """

    layout: str
    users: int
    movies: int
    ratings: int
    tags: int
    defects: tuple[Defect, ...]
    files: tuple[Path, ...]
    seconds: float

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        names = ",".join(p.name for p in self.files)
        return (
            f"{self.layout}: {self.users} users, {self.movies} movies, {self.ratings} ratings "
            f"(+{len(self.defects)} bad rows), {self.tags} tags -> {names} "
            f"in {self.seconds:.1f} s"
        )


def _genres_text(names: tuple[str, ...], *, classic: bool) -> str:
    if classic:  # ml-1m: Children's, no IMAX
        names = tuple("Children's" if n == "Children" else n for n in names if n != "IMAX")
    return "|".join(names) if names else NO_GENRES


def _write_movies_csv(path: Path, catalog: Catalog, spec: EntityFile) -> None:
    with path.open("w", encoding=spec.format.encoding, newline="") as f:
        w = csv.writer(f, delimiter=spec.format.sep, lineterminator="\n")
        w.writerow(spec.columns)
        for mid, title, names in zip(
            catalog.movie_ids.tolist(), catalog.titles, catalog.genres, strict=True
        ):
            w.writerow([mid, title, _genres_text(names, classic=False)])


def _write_links_csv(path: Path, catalog: Catalog, spec: EntityFile) -> None:
    sep = spec.format.sep
    with path.open("w", encoding=spec.format.encoding, newline="") as f:
        f.write(sep.join(spec.columns) + "\n")
        for mid, imdb, tmdb in zip(
            catalog.movie_ids.tolist(),
            catalog.imdb_ids.tolist(),
            catalog.tmdb_ids.tolist(),
            strict=True,
        ):
            f.write(sep.join((str(mid), f"{imdb:07d}", str(tmdb) if tmdb >= 0 else "")) + "\n")


def genome_tag_names(n_tags: int) -> tuple[str, ...]:
    """The generated genome's ``n_tags`` tags: ``_GENOME_TAGS``, then numbered ones (the real
    genome has 1,128: ``--genome-tags 1128`` gives its width)."""
    extra = tuple(f"genome tag {i}" for i in range(len(_GENOME_TAGS) + 1, n_tags + 1))
    return (_GENOME_TAGS + extra)[:n_tags]


def genome_relevance(
    catalog: Catalog, n_tags: int = len(_GENOME_TAGS)
) -> tuple[np.ndarray, np.ndarray]:
    """The generated tag genome: the covered movies' indices (the ``GENOME_SHARE`` most
    popular, in id order) and their relevance of each of ``n_tags`` tags, shape
    ``(covered, n_tags)``, in [0, 1] rounded to 5 decimals as in genome-scores.csv.

    Each tag is a direction in the latent factor space, so that, as in the real genome, movies
    rated alike by the same people have alike relevance vectors; a movie's relevance is a
    logistic of its factors along that direction plus noise.
    """
    rng = _rng(catalog.seed, 5)
    directions = rng.normal(0.0, 1.0, size=(_N_FACTORS, n_tags))
    n_covered = int(round(GENOME_SHARE * catalog.n_movies))
    covered = np.sort(np.argsort(-catalog.popularity, kind="stable")[:n_covered])
    signal = catalog.movie_factors[covered] @ directions * 4.0
    noise = rng.normal(0.0, 0.5, size=signal.shape)
    relevance = np.round(1.0 / (1.0 + np.exp(-(signal + noise - 1.0))), 5)
    return covered, relevance


def _write_genome(
    paths: dict[str, Path], catalog: Catalog, specs: dict[str, EntityFile], n_tags: int
) -> None:
    """genome-scores.csv (every covered movie, every tag) and genome-tags.csv."""
    covered, relevance = genome_relevance(catalog, n_tags)
    scores, tags = specs["genome_scores"], specs["genome_tags"]
    sep = scores.format.sep
    with paths["genome_scores"].open("w", encoding=scores.format.encoding, newline="") as f:
        f.write(sep.join(scores.columns) + "\n")
        for movie_id, row in zip(catalog.movie_ids[covered].tolist(), relevance, strict=True):
            f.write(
                "".join(
                    f"{movie_id}{sep}{tag_id}{sep}{value:.5f}\n"
                    for tag_id, value in enumerate(row.tolist(), start=1)
                )
            )
    with paths["genome_tags"].open("w", encoding=tags.format.encoding, newline="") as f:
        f.write(tags.format.sep.join(tags.columns) + "\n")
        names = genome_tag_names(n_tags)
        f.write("".join(f"{i}{tags.format.sep}{tag}\n" for i, tag in enumerate(names, 1)))


def _write_movies_dat(path: Path, catalog: Catalog, spec: EntityFile, *, classic: bool) -> None:
    sep = spec.format.sep
    with path.open("w", encoding=spec.format.encoding, newline="") as f:
        for mid, title, names in zip(
            catalog.movie_ids.tolist(), catalog.titles, catalog.genres, strict=True
        ):
            f.write(sep.join((str(mid), title, _genres_text(names, classic=classic))) + "\n")


def _write_u_item(path: Path, catalog: Catalog, spec: EntityFile) -> None:
    rng = _rng(catalog.seed, 3)
    flags_index = {name: i for i, name in enumerate(GENRES_100K)}
    encoding = spec.format.encoding
    with path.open("w", encoding=encoding, newline="") as f:
        for i, (title, names, year) in enumerate(
            zip(catalog.titles, catalog.genres, catalog.years.tolist(), strict=True)
        ):
            if rng.random() < 0.7:
                day, month = 1, 0
            else:
                day, month = int(rng.integers(1, 29)), int(rng.integers(12))
            flags = [0] * len(GENRES_100K)
            mapped = [("Children's" if n == "Children" else n) for n in names if n != "IMAX"]
            for name in mapped or ["unknown"]:
                flags[flags_index[name]] = 1
            url = "http://us.imdb.com/M/title-exact?" + quote(title, safe="(),'", encoding=encoding)
            fields = [str(i + 1), title, f"{day:02d}-{_MONTHS[month]}-{year}", "", url]
            f.write(spec.format.sep.join(fields + [str(x) for x in flags]) + "\n")


def _write_users(path: Path, catalog: Catalog, *, layout: str) -> None:
    rng = _rng(catalog.seed, 2)
    n = catalog.n_users
    gender = np.where(rng.random(n) < 0.71, "M", "F")
    zips = rng.integers(1000, 99999, size=n)
    with path.open("w", encoding="iso-8859-1", newline="") as f:
        if layout == "ml-1m":
            ages = rng.choice(AGES_1M, size=n, p=[0.04, 0.18, 0.35, 0.2, 0.09, 0.08, 0.06])
            occupation = rng.integers(0, 21, size=n)
            plus4 = rng.random(n) < 0.01
            for u in range(n):
                z = f"{zips[u]:05d}" + (f"-{zips[u] % 10000:04d}" if plus4[u] else "")
                f.write(f"{u + 1}::{gender[u]}::{ages[u]}::{occupation[u]}::{z}\n")
        else:
            ages = np.clip(np.round(rng.gamma(6.0, 5.5, size=n)), 7, 73).astype(int)
            occupation = rng.integers(0, len(OCCUPATIONS_100K), size=n)
            canadian = rng.random(n) < 0.02
            for u in range(n):
                if canadian[u]:
                    letters = "ABCEGHJKLMNPRSTVXY"
                    z = f"{letters[zips[u] % 18]}{zips[u] % 10}{letters[zips[u] // 18 % 18]}"
                    z += f"{zips[u] // 7 % 10}{letters[zips[u] // 324 % 18]}"
                else:
                    z = f"{zips[u]:05d}"
                f.write(f"{u + 1}|{ages[u]}|{gender[u]}|{OCCUPATIONS_100K[occupation[u]]}|{z}\n")


def _entity_files(layout: str) -> dict[str, EntityFile]:
    """The table's entity files of ``layout`` (the seeds: ml-latest's, named ``demo_<entity>``,
    which dbt makes the seed's name)."""
    if layout == SEEDS_LAYOUT:
        return {
            entity: replace(spec, file=f"demo_{entity}.csv")
            for entity, spec in RELEASES["ml-latest"].entities.items()
        }
    return RELEASES[layout].entities


def _file_names(layout: str) -> dict[str, str]:
    """Every file ``layout`` writes, by what it holds; the ratings first."""
    names = {entity: spec.file for entity, spec in _entity_files(layout).items()}
    if layout in RELEASES:
        names.update(RELEASES[layout].other_files)
    return names


def write_dataset(
    *,
    out_dir: str | Path,
    layout: str,
    n_ratings: int = DEMO_RATINGS,
    n_users: int | None = None,
    n_movies: int | None = None,
    seed: int = DEMO_SEED,
    bad_rows: bool = False,
    genome_tags: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Generate a data set and write it into ``out_dir`` in one of ``LAYOUTS``.

    Parameters
    ----------
    out_dir
        Target directory (created if missing; files of the layout are overwritten).
    layout
        ``ml-latest``, ``ml-10m``, ``ml-1m``, ``ml-100k`` or ``dbt-seeds``.
    n_ratings
        Number of good ratings.
    n_users, n_movies
        Sizes; default ``default_users`` / ``default_movies`` of ``n_ratings``.
    seed
        Generator seed; same seed and sizes give byte-identical files.
    bad_rows
        Append the deliberate defects (``make_defects``) to the ratings file. Only for the
        layouts whose ratings keep half stars (``ml-latest``, ``ml-10m``, ``dbt-seeds``).
    genome_tags
        Tags of the generated tag genome, written where the layout has genome files
        (ml-latest, the seeds); 0 writes none.
    progress
        Called with a progress line about every 10% of users.

    Returns
    -------
    Summary
        Counts, files and timing.

    Raises
    ------
    ValueError
        On an unknown layout, impossible sizes, or ``bad_rows`` with an integer layout.
    """
    started = time.perf_counter()
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if bad_rows and layout in ("ml-1m", "ml-100k"):
        raise ValueError(f"bad_rows is not supported for the integer-rating layout {layout}")
    if n_ratings < 1:
        raise ValueError(f"n_ratings must be positive, got {n_ratings}")
    if genome_tags < 0:
        raise ValueError(f"genome_tags must not be negative, got {genome_tags}")
    n_users = default_users(n_ratings=n_ratings) if n_users is None else n_users
    n_movies = default_movies(n_ratings=n_ratings) if n_movies is None else n_movies
    catalog = build_catalog(seed=seed, n_users=n_users, n_movies=n_movies, n_ratings=n_ratings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = _entity_files(layout)
    names = _file_names(layout)
    if not genome_tags:
        names = {k: v for k, v in names.items() if k not in GENOME_ENTITIES}
    paths = {k: out / v for k, v in names.items()}
    _write_catalog_files(paths, catalog, specs, layout=layout, genome_tags=genome_tags)
    defects, n_tags = _write_ratings_and_tags(
        paths, catalog, specs, layout=layout, bad_rows=bad_rows, progress=progress
    )
    return Summary(
        layout=layout,
        users=n_users,
        movies=n_movies,
        ratings=catalog.n_ratings,
        tags=n_tags,
        defects=defects,
        files=tuple(paths[k] for k in names),
        seconds=time.perf_counter() - started,
    )


def _write_catalog_files(
    paths: dict[str, Path],
    catalog: Catalog,
    specs: dict[str, EntityFile],
    *,
    layout: str,
    genome_tags: int,
) -> None:
    """The files of ``layout`` fixed by the catalogue: movies, links, users, ml-100k's lists."""
    if specs["ratings"].format.header:
        _write_movies_csv(paths["movies"], catalog, specs["movies"])
        _write_links_csv(paths["links"], catalog, specs["links"])
        if genome_tags:
            _write_genome(paths, catalog, specs, genome_tags)
    elif layout == "ml-100k":
        _write_u_item(paths["movies"], catalog, specs["movies"])
    else:
        _write_movies_dat(paths["movies"], catalog, specs["movies"], classic=layout == "ml-1m")
    if "users" in paths:
        _write_users(paths["users"], catalog, layout=layout)
    if layout == "ml-100k":
        paths["genre"].write_text(
            "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES_100K)) + "\n", encoding="ascii"
        )
        paths["occupation"].write_text("".join(f"{o}\n" for o in OCCUPATIONS_100K), "ascii")
        paths["info"].write_text(
            f"{catalog.n_users} users\n{catalog.n_movies} items\n{catalog.n_ratings} ratings\n",
            "ascii",
        )


def _write_ratings_and_tags(
    paths: dict[str, Path],
    catalog: Catalog,
    specs: dict[str, EntityFile],
    *,
    layout: str,
    bad_rows: bool,
    progress: Callable[[str], None] | None,
) -> tuple[tuple[Defect, ...], int]:
    """Stream the ratings (the defects last, with ``bad_rows``) and the tags, block by block.

    Returns the defects written and the number of tags.
    """
    movie_text = [str(m) for m in catalog.movie_ids.tolist()]
    if layout == "ml-100k":
        movie_text = [str(i + 1) for i in range(catalog.n_movies)]
    ratings_format = specs["ratings"].format
    sep = ratings_format.sep
    line_format = sep.join(["{}"] * len(specs["ratings"].columns)) + "\n"
    n_users = catalog.n_users
    defects: tuple[Defect, ...] = ()
    n_tags = 0
    reported_tenths = 0
    with ExitStack() as stack:
        ratings_file = stack.enter_context(
            paths["ratings"].open("w", encoding=ratings_format.encoding, newline="")
        )
        write_tags = _open_tags(stack, paths["tags"] if "tags" in specs else None, specs, sep=sep)
        if ratings_format.header:
            ratings_file.write(sep.join(specs["ratings"].columns) + "\n")
        for block in iter_rating_blocks(catalog=catalog):
            if bad_rows and not defects:
                defects = make_defects(catalog=catalog, first_block=block)
            lines = _rating_lines(
                block,
                movie_text,
                layout=layout,
                line_format=line_format,
                csv_like=ratings_format.header,
                seed=catalog.seed,
            )
            ratings_file.write("".join(lines))
            if "tags" in paths:
                n_tags += write_tags(block, movie_text)
            done = int(block.user_id[-1])
            if progress is not None and done * 10 // n_users > reported_tenths:
                reported_tenths = done * 10 // n_users
                progress(f"{done / n_users:4.0%} of users ({done}/{n_users})")
        for d in defects:
            ratings_file.write(sep.join((d.user_id, d.movie_id, d.rating, d.timestamp)) + "\n")
    return defects, n_tags


def _open_tags(
    stack: ExitStack, path: Path | None, specs: dict[str, EntityFile], *, sep: str
) -> Callable[[RatingBlock, list[str]], int]:
    """Open the tags file ``path`` on ``stack`` and write its header (None: the layout has no
    tags file); return a function that writes a block's tags there and counts them."""
    tags_file: io.TextIOBase = io.StringIO()
    tags_sep = sep
    if path is not None:
        tags_format = specs["tags"].format
        tags_sep = tags_format.sep
        tags_file = stack.enter_context(path.open("w", encoding=tags_format.encoding, newline=""))
        if tags_format.header:
            tags_file.write(tags_sep.join(specs["tags"].columns) + "\n")
    # csv quotes the tags of the CSV layouts; the .dat layouts have no quoting.
    tag_writer = (
        csv.writer(tags_file, delimiter=tags_sep, lineterminator="\n")
        if specs["ratings"].format.header
        else None
    )

    def write(block: RatingBlock, movie_text: list[str]) -> int:
        tag_movies = [movie_text[i] for i in block.tag_movie_index.tolist()]
        rows = zip(
            block.tag_user_id.tolist(),
            tag_movies,
            block.tag_text,
            block.tag_timestamp.tolist(),
            strict=True,
        )
        if tag_writer is not None:
            tag_writer.writerows(rows)
        else:
            tags_file.write("".join(tags_sep.join(map(str, row)) + "\n" for row in rows))
        return block.tag_user_id.size

    return write


def _rating_lines(
    block: RatingBlock,
    movie_text: list[str],
    *,
    layout: str,
    line_format: str,
    csv_like: bool,
    seed: int,
) -> Iterator[str]:
    """A block's ratings as lines of ``layout``'s ratings file: half stars (``"4.0"``) in the
    CSV layouts, half stars (``"4"``, ``"3.5"``) in ml-10m, whole stars (half stars rounded
    up) in ml-1m and ml-100k, whose ``u.data`` is in a random order (``seed`` and block)."""
    users = block.user_id.tolist()
    movies = [movie_text[i] for i in block.movie_index.tolist()]
    stamps = block.timestamp.tolist()
    halves = np.rint(block.rating * 2).astype(np.int64)
    if csv_like:
        text = [_HALF_STAR_TEXT[h] for h in halves.tolist()]
        return map(line_format.format, users, movies, text, stamps)
    if layout == "ml-10m":
        text = [_DAT_RATING_TEXT[h] for h in halves.tolist()]
        return map(line_format.format, users, movies, text, stamps)
    stars = ((halves + 1) // 2).tolist()  # round half stars up
    if layout == "ml-1m":
        return map(line_format.format, users, movies, stars, stamps)
    order = _rng(seed, 4, int(block.user_id[0])).permutation(len(users))
    return (line_format.format(users[i], movies[i], stars[i], stamps[i]) for i in order.tolist())


# ---------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``movielens-generate --layout L --out DIR [--ratings N] [--seed N]``.

    Parameters
    ----------
    argv
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    parser = argparse.ArgumentParser(
        prog="movielens-generate",
        description="Write a deterministic MovieLens-shaped data set.",
    )
    parser.add_argument("--layout", required=True, choices=LAYOUTS)
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--ratings", type=int, help=f"good ratings (demo: {DEMO_RATINGS})")
    parser.add_argument("--users", type=int, help="default: ratings / 50 (demo: 400)")
    parser.add_argument("--movies", type=int, help="default: grows with sqrt(ratings)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    bad = parser.add_mutually_exclusive_group()
    bad.add_argument("--bad-rows", dest="bad_rows", action="store_true", default=None)
    bad.add_argument("--no-bad-rows", dest="bad_rows", action="store_false")
    parser.add_argument(
        "--genome-tags", type=int,
        help=f"tags of a generated tag genome (ml-latest layout; default none, the demo seeds "
        f"{DEMO_GENOME_TAGS})",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    demo = args.layout == "dbt-seeds"
    n_ratings = args.ratings or DEMO_RATINGS
    n_users = args.users or (DEMO_USERS if demo and args.ratings is None else None)
    n_movies = args.movies or (DEMO_MOVIES if demo and args.ratings is None else None)
    bad_rows = demo if args.bad_rows is None else args.bad_rows

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        summary = write_dataset(
            out_dir=args.out,
            layout=args.layout,
            n_ratings=n_ratings,
            n_users=n_users,
            n_movies=n_movies,
            seed=args.seed,
            bad_rows=bad_rows,
            genome_tags=(DEMO_GENOME_TAGS if demo else 0)
            if args.genome_tags is None
            else args.genome_tags,
            progress=None if args.quiet or n_ratings < 200_000 else report,
        )
    except ValueError as error:
        parser.error(str(error))
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
