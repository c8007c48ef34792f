"""The MovieLens file layouts: which file holds each entity, and how it is written.

The generator writes by this table. The dbt macro ``movielens_layouts()`` (in
``macros/movielens_sources.sql``) reads by the same table written in Jinja, which cannot
import Python; ``tests/python_jobs/datasets/test_layouts.py`` renders the macro and fails on
any difference, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ENTITY_COLUMNS",
    "GENRES_100K",
    "LAYOUTS",
    "EntityFile",
    "FileFormat",
    "Layout",
]


@dataclass(frozen=True)
class FileFormat:
    """How a file is delimited and encoded (the CSV reader's options, in Spark's terms).

    Attributes
    ----------
    sep
        Field separator.
    encoding
        Character set (a name Spark and Python both know).
    header
        Whether the first line names the columns.
    quote, escape
        Quote and escape characters; ``"\\u0000"`` for a format without quoting.
    """

    sep: str
    encoding: str
    header: bool
    quote: str = "\u0000"
    escape: str | None = None


@dataclass(frozen=True)
class EntityFile:
    """The file that holds one entity (ratings, movies, tags, links) in a layout."""

    file: str
    format: FileFormat
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """One MovieLens release's files.

    Attributes
    ----------
    description
        One line naming the files, as the build logs it.
    required
        Files whose presence identifies the layout.
    entities
        The entity files dbt reads.
    other_files
        Further files of the release that dbt does not read, by what they hold.
    """

    description: str
    required: tuple[str, ...]
    entities: dict[str, EntityFile]
    other_files: dict[str, str] = field(default_factory=dict)


CSV = FileFormat(sep=",", encoding="UTF-8", header=True, quote='"', escape='"')
DAT_UTF8 = FileFormat(sep="::", encoding="UTF-8", header=False)
DAT_LATIN1 = FileFormat(sep="::", encoding="ISO-8859-1", header=False)
TAB_UTF8 = FileFormat(sep="\t", encoding="UTF-8", header=False)
PIPE_LATIN1 = FileFormat(sep="|", encoding="ISO-8859-1", header=False)

ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "ratings": ("userId", "movieId", "rating", "timestamp"),
    "movies": ("movieId", "title", "genres"),
    "tags": ("userId", "movieId", "tag", "timestamp"),
    "links": ("movieId", "imdbId", "tmdbId"),
    "genome_scores": ("movieId", "tagId", "relevance"),
    "genome_tags": ("tagId", "tag"),
}
"""Every entity's columns, in the ml-latest names every layout is normalized to."""

GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""The ml-100k ``u.genre`` order (also the order of the 19 flags in ``u.item``)."""

_U_ITEM_COLUMNS = (
    ("movieId", "title", "release_date", "video_release_date", "imdb_url")
    + tuple(f"genre_{i}" for i in range(len(GENRES_100K)))
)  # fmt: skip

LAYOUTS: dict[str, Layout] = {
    "ml-latest": Layout(
        description=(
            "ml-latest / ml-latest-small (ratings.csv, movies.csv, tags.csv, links.csv;"
            " genome-scores.csv, genome-tags.csv where the release has the tag genome)"
        ),
        required=("ratings.csv", "movies.csv"),
        entities={
            entity: EntityFile(f"{entity.replace('_', '-')}.csv", CSV, columns)
            for entity, columns in ENTITY_COLUMNS.items()
        },
    ),
    "ml-1m": Layout(
        description='ML-1M (ratings.dat, movies.dat, users.dat; "::"-delimited, Latin-1)',
        required=("ratings.dat", "movies.dat", "users.dat"),
        entities={
            entity: EntityFile(f"{entity}.dat", DAT_LATIN1, ENTITY_COLUMNS[entity])
            for entity in ("ratings", "movies")
        },
        other_files={"users": "users.dat"},
    ),
    "ml-10m": Layout(
        description='ML-10M (ratings.dat, movies.dat, tags.dat; "::"-delimited, UTF-8)',
        required=("ratings.dat", "movies.dat"),
        entities={
            entity: EntityFile(f"{entity}.dat", DAT_UTF8, ENTITY_COLUMNS[entity])
            for entity in ("ratings", "movies", "tags")
        },
    ),
    "ml-100k": Layout(
        description="ML-100K (u.data tab-separated, u.item pipe-separated Latin-1)",
        required=("u.data", "u.item"),
        entities={
            "ratings": EntityFile("u.data", TAB_UTF8, ENTITY_COLUMNS["ratings"]),
            "movies": EntityFile("u.item", PIPE_LATIN1, _U_ITEM_COLUMNS),
        },
        other_files={
            "genre": "u.genre",
            "users": "u.user",
            "occupation": "u.occupation",
            "info": "u.info",
        },
    ),
}
"""The releases, in the order the build tries them when it detects a layout (ml-1m before
ml-10m: their required files differ only by ml-1m's users.dat)."""
