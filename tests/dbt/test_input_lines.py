"""Every input line is accounted for, in every MovieLens layout.

For each layout, a small clean data set from the generator gets a fuzz corpus generated here
(truncated and extra fields, blank lines, CRLF, a byte order mark, NUL and other control
characters, bytes invalid in the file's encoding, quotes and separators inside titles, ids
beyond int, NaN / infinite / negative ratings, unparseable and out-of-range timestamps,
repeated header lines); a last case has header-only ratings and movies files and empty
tags and links files. Two batches of new ratings sit beside the data set's files
(`batches/<batch>/<the ratings file>`): a re-rating, a repeat of a loaded line, a new rating, a
bad line and a blank one, and the same file again as a second batch. After ``dbt run``, for
ratings and movies alike:

    lines of the files (but their headers) = validated rows + quarantined rows

every fuzz and batch line is validated or quarantined with the reason written next to it here,
the validated ratings are those a pandas replay of the files in load order keeps, and
`fct_loaded_files` counts each file's lines.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from python_jobs.datasets.generator import write_dataset
from python_jobs.datasets.layouts import LAYOUTS, FileFormat
from tests.support import DbtRun, assert_dbt_ok, run_dbt

pytestmark = pytest.mark.dbt

SELECTION = [
    "--select",
    "+int_ratings_validated",
    "+dim_movies",
    "fct_rejected_rows",
    "fct_loaded_files",
]
CLEAN_RATINGS = 200
BOM = b"\xef\xbb\xbf"
MALFORMED = "malformed line: wrong number of fields"
CONTROL = "control character in a field"
ENCODING = "bytes not valid in the file encoding"
USER_ID = "user_id missing or not an integer"
MOVIE_ID = "movie_id missing or not an integer"
USER_NOT_POSITIVE = "user_id not positive"
MOVIE_NOT_POSITIVE = "movie_id not positive"
RATING_RANGE = "rating outside 0.5..5"
TIMESTAMP = "timestamp missing or not an integer"
TIMESTAMP_RANGE = "timestamp outside 1970..2099"
BLANK = "blank line"
HEADER = "repeated header line"
REPEAT = "repeat of a rating already loaded (same user, movie, rating and time)"
REPLACED = "duplicate rating of the same (user_id, movie_id); the latest is kept"
BATCHES = ("2026-12-07", "2026-12-08")  # the second is a copy of the first


@dataclass(frozen=True)
class FuzzLine:
    """One generated line: what it exercises, its bytes, the reason it must get (None: valid)."""

    case: str
    line: bytes
    reason: str | None
    first: bool = False  # written as the file's first line


@dataclass(frozen=True)
class Files:
    """One entity's file in a layout: where, how it is written, its clean lines."""

    path: Path
    format: FileFormat
    clean: list[bytes]

    @property
    def encoding(self) -> str:
        return self.format.encoding

    def fields(self, line: bytes) -> list[str]:
        text = line.decode(self.encoding)
        if self.format.header:  # CSV, with quoted fields
            return next(csv.reader([text]))
        return text.split(self.format.sep)

    def join(self, fields: list[bytes | str]) -> bytes:
        parts = [f if isinstance(f, bytes) else f.encode(self.encoding) for f in fields]
        return self.format.sep.encode().join(parts)


def read_files(data_dir: Path, layout: str, entity: str) -> Files:
    spec = LAYOUTS[layout].entities[entity]
    lines = (data_dir / spec.file).read_bytes().splitlines()
    return Files(data_dir / spec.file, spec.format, lines[1:] if spec.format.header else lines)


def rating_fuzz(ratings: Files, movie_id: str) -> list[FuzzLine]:
    utf8 = ratings.encoding == "UTF-8"
    users = iter(range(900_001, 901_000))

    def line(*, user: bytes | str | None = None, movie: bytes | str = movie_id,
             rating: bytes | str = "4", timestamp: bytes | str = "964982703") -> bytes:  # fmt: skip
        return ratings.join([user if user is not None else str(next(users)), movie, rating,
                             timestamp])  # fmt: skip

    cases = [
        FuzzLine("truncated", ratings.join(["1", movie_id, "4"]), MALFORMED),
        FuzzLine("extra field", line() + ratings.join([b"", b"7"]), MALFORMED),
        FuzzLine("empty line", b"", BLANK),
        FuzzLine("spaces and a tab", b" \t ", BLANK),
        FuzzLine("CR only (a CRLF blank line)", b"\r", BLANK),
        FuzzLine("NULs only", b"\x00\x00", BLANK),
        FuzzLine("CRLF ending", line() + b"\r", None),
        FuzzLine("NUL inside movieId", line(movie=movie_id.encode() + b"\x003"), CONTROL),
        FuzzLine("NUL before userId", line(user=b"\x001"), CONTROL),
        FuzzLine("BEL after timestamp", line(timestamp=b"964982703\x07"), CONTROL),
        FuzzLine("DEL in rating", line(rating=b"4\x7f"), CONTROL),
        FuzzLine("byte 0xFF in userId", line(user=b"12\xff"), ENCODING if utf8 else USER_ID),
        FuzzLine("userId beyond int", line(user="3000000000"), USER_ID),
        FuzzLine("movieId beyond int", line(movie="99999999999"), MOVIE_ID),
        FuzzLine("negative userId", line(user="-3"), USER_NOT_POSITIVE),
        FuzzLine("zero userId", line(user="0"), USER_NOT_POSITIVE),
        FuzzLine("negative movieId", line(movie="-" + movie_id), MOVIE_NOT_POSITIVE),
        FuzzLine("NaN rating", line(rating="NaN"), RATING_RANGE),
        FuzzLine("infinite rating", line(rating="Infinity"), RATING_RANGE),
        FuzzLine("negative rating", line(rating="-1"), RATING_RANGE),
        FuzzLine("unparseable timestamp", line(timestamp="9649827x3"), TIMESTAMP),
        FuzzLine("empty timestamp", line(timestamp=""), TIMESTAMP),
        FuzzLine("timestamp beyond 2099", line(timestamp="99999999999999"), TIMESTAMP_RANGE),
        FuzzLine("timestamp before 1970", line(timestamp="-5"), TIMESTAMP_RANGE),
    ]
    if not ratings.format.header:  # (a file with a header gets its byte order mark there)
        # A UTF-8 byte order mark: Spark's reader drops it, in a Latin-1 file too.
        cases.append(FuzzLine("byte order mark", BOM + line(), None, first=True))
    else:
        cases += [
            FuzzLine(
                "repeated header",
                ratings.join(["userId", "movieId", "rating", "timestamp"]),
                HEADER,
            ),  # fmt: skip
            FuzzLine("quoted movieId", line(movie=f'"{movie_id}"'), None),
        ]
    return cases


def movie_fuzz(movies: Files) -> list[FuzzLine]:
    """Lines from the first clean line's fields, with new movie ids and another title."""
    utf8 = movies.encoding == "UTF-8"
    # ml-100k's u.item has 24 fields (dates, URL, genre flags): the first clean line's
    rest = (
        movies.fields(movies.clean[0])[2:] if len(movies.fields(movies.clean[0])) > 3 else ["Drama"]
    )
    ids = iter(range(900_001, 901_000))

    def line(title: bytes | str, movie: str | None = None) -> bytes:
        return movies.join([movie or str(next(ids)), title, *rest])

    quoted_title = (
        '"Movie, The ""Big"" One (2001)"' if movies.format.header else 'Movie "Big" One (2001)'
    )
    return [
        FuzzLine("quotes and a comma in the title", line(quoted_title), None),
        FuzzLine(
            "separator in the title", line(f"Left{movies.format.sep}Right (2001)"), MALFORMED
        ),  # fmt: skip
        FuzzLine("control character in the title", line(b"Bad\x01Title (2001)"), CONTROL),
        FuzzLine("Latin-1 byte in the title", line(b"Caf\xe9 (2001)"), ENCODING if utf8 else None),
        FuzzLine("truncated", movies.join([str(next(ids)), "Short (2001)"]), MALFORMED),
        FuzzLine("movieId beyond int", line("Big Id (2001)", movie="99999999999"), MOVIE_ID),
        FuzzLine("negative movieId", line("Minus (2001)", movie="-7"), MOVIE_NOT_POSITIVE),
        FuzzLine("empty line", b"", BLANK),
        *(
            [FuzzLine("repeated header", movies.join(["movieId", "title", "genres"]), HEADER)]
            if movies.format.header
            else []
        ),
    ]


def write_fuzz(files: Files, fuzz: list[FuzzLine]) -> None:
    """Write the file again: header, then first lines, clean lines, and the fuzz lines."""
    head = files.path.read_bytes().splitlines()[:1] if files.format.header else []
    firsts = [f.line for f in fuzz if f.first]
    others = [f.line for f in fuzz if not f.first]
    files.path.write_bytes(b"\n".join([*head, *firsts, *files.clean, *others]) + b"\n")


@dataclass(frozen=True)
class Batches:
    """The batch files written beside a data set: their paths, their lines' reasons (None:
    validated), and the data set's line that the first batch re-rates."""

    paths: list[Path]
    reasons: list[list[str | None]]
    replaced_line: bytes


def write_batches(data_dir: Path, ratings: Files, movie_id: str) -> Batches:
    """`batches/<name>/<ratings file>`: a re-rating of the first clean line (a later time), a
    repeat of the second, a new user's rating, a negative user id and a blank line; the
    second batch is the same file again, so that its every rating is a repeat."""
    user, movie, rating, timestamp = ratings.fields(ratings.clean[0])
    lines = [
        ratings.join([user, movie, "1" if float(rating) != 1 else "2", str(int(timestamp) + 1000)]),
        ratings.clean[1],
        ratings.join(["950001", movie_id, "3", "964982703"]),
        ratings.join(["-5", movie_id, "3", "964982703"]),
        b"",
    ]
    head = ratings.path.read_bytes().splitlines()[:1] if ratings.format.header else []
    paths = []
    for name in BATCHES:
        path = data_dir / "batches" / name / ratings.path.name
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\n".join([*head, *lines]) + b"\n")
        paths.append(path)
    first = [None, REPEAT, None, USER_NOT_POSITIVE, BLANK]
    again = [REPEAT, REPEAT, REPEAT, USER_NOT_POSITIVE, BLANK]
    return Batches(paths, [first, again], ratings.clean[0])


def replayed_ratings(ratings: Files, paths: list[Path], valid: set[bytes]) -> dict:
    """(user, movie) -> rating as a replay of the files in load order keeps them: a later
    time replaces an earlier one, the same time keeps the first loaded. ``valid``: the lines
    that pass every line check (the clean ones and the valid fuzz and batch lines)."""
    kept: dict[tuple[int, int], tuple[int, float]] = {}
    for path in paths:
        for line in path.read_bytes().splitlines():
            line = line.removeprefix(BOM).rstrip(b"\r")
            if line not in valid:
                continue
            fields = ratings.fields(line)
            key = (int(fields[0].strip('"')), int(fields[1].strip('"')))
            at, value = int(fields[3]), float(fields[2])
            if key not in kept or at > kept[key][0]:
                kept[key] = (at, value)
    return {key: value for key, (_, value) in kept.items()}


def data_lines(path: Path, header: bool) -> int:
    """Lines as Hadoop's line reader splits them (LF, CR or CRLF), but the header."""
    lines = len(path.read_bytes().splitlines())
    return lines - 1 if header and lines else lines


def rows(run: DbtRun, table: str) -> list[dict]:
    return pads.dataset(run.table_path(table), format="parquet").to_table().to_pylist()


def build(tmp_path: Path, data_dir: Path) -> DbtRun:
    run = run_dbt(
        ["run", *SELECTION, "--vars", f"{{movielens_path: '{data_dir}'}}"],
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
    )
    assert_dbt_ok(run)
    return run


def assert_accounted(run: DbtRun, files: dict[str, Files], fuzz: dict[str, list[FuzzLine]],
                     layout: str, batches: Batches) -> None:  # fmt: skip
    rejected = rows(run, "fct_rejected_rows")
    kept = {"ratings": rows(run, "int_ratings_validated"), "movies": rows(run, "dim_movies")}
    header = files["ratings"].format.header
    extra_lines = {"ratings": sum(data_lines(path, header) for path in batches.paths),
                   "movies": 0}  # fmt: skip
    batch_reasons = [reason for reasons in batches.reasons for reason in reasons]
    # The first batch re-rates a clean line (quarantined as replaced) and adds one rating.
    extra_reasons = {"ratings": [*batch_reasons, REPLACED], "movies": []}
    extra_valid = {"ratings": batch_reasons.count(None) - 1, "movies": 0}
    report = []
    for entity in ("ratings", "movies"):
        lines = data_lines(files[entity].path, files[entity].format.header) + extra_lines[entity]
        quarantined = [row for row in rejected if row["source_table"] == entity]
        report.append(
            f"{entity}: {lines} lines ({len(fuzz[entity])} fuzz) = {len(kept[entity])} validated"
            f" + {len(quarantined)} quarantined"
        )
        assert lines == len(kept[entity]) + len(quarantined), report[-1]
        expected = Counter(f.reason for f in fuzz[entity] if f.reason)
        expected.update(reason for reason in extra_reasons[entity] if reason)
        assert Counter(row["reject_reason"] for row in quarantined) == expected, entity
        valid = sum(1 for f in fuzz[entity] if f.reason is None)
        assert len(kept[entity]) == len(files[entity].clean) + valid + extra_valid[entity], entity
    print(f"{layout}: " + "; ".join(report))


def assert_loaded_files(run: DbtRun, files: dict[str, Files], fuzz: list[FuzzLine],
                        batches: Batches) -> None:  # fmt: skip
    """`fct_loaded_files`: each ratings file's lines, validated and quarantined, as written."""
    ratings = files["ratings"]
    header = ratings.format.header
    main_quarantined = sum(1 for f in fuzz if f.reason) + 1  # the re-rated clean line
    expected = [
        {
            "source_file": ratings.path.name,
            "batch": None,
            "load_order": 0,
            "lines_read": data_lines(ratings.path, header),
            "quarantined": main_quarantined,
            "repeated": 0,
            "replaced": 1,
        },
    ]
    for order, (name, path, reasons) in enumerate(
        zip(BATCHES, batches.paths, batches.reasons, strict=True), start=1
    ):
        expected.append(
            {
                "source_file": f"batches/{name}/{ratings.path.name}",
                "batch": name,
                "load_order": order,
                "lines_read": data_lines(path, header),
                "quarantined": sum(1 for reason in reasons if reason),
                "repeated": reasons.count(REPEAT),
                "replaced": 0,
            }
        )
    loaded = sorted(rows(run, "fct_loaded_files"), key=lambda row: row["load_order"])
    columns = list(expected[0])
    assert [{key: row[key] for key in columns} for row in loaded] == expected
    for row, path in zip(loaded, [ratings.path, *batches.paths], strict=True):
        assert row["validated"] == row["lines_read"] - row["quarantined"]
        assert row["bytes"] == path.stat().st_size


@pytest.mark.parametrize("layout", ["ml-latest", "ml-1m", "ml-10m", "ml-100k"])
def test_every_line_of_a_fuzzed_data_set_is_accounted_for(tmp_path: Path, layout: str) -> None:
    data_dir = tmp_path / layout
    write_dataset(out_dir=data_dir, layout=layout, n_ratings=CLEAN_RATINGS)
    files = {entity: read_files(data_dir, layout, entity) for entity in ("ratings", "movies")}
    movie_id = files["movies"].fields(files["movies"].clean[0])[0]
    fuzz = {
        "ratings": rating_fuzz(files["ratings"], movie_id),
        "movies": movie_fuzz(files["movies"]),
    }
    for entity, lines in fuzz.items():
        write_fuzz(files[entity], lines)
    batches = write_batches(data_dir, files["ratings"], movie_id)
    if files["ratings"].format.header:  # the byte order mark of a file with a header
        files["ratings"].path.write_bytes(BOM + files["ratings"].path.read_bytes())

    run = build(tmp_path, data_dir)
    assert f"MovieLens layout {layout}" in run.output
    assert f"MovieLens batches: 2 ratings file(s) under {data_dir}/batches/" in run.output
    assert_accounted(run, files, fuzz, layout, batches)
    assert_loaded_files(run, files, fuzz["ratings"], batches)
    ratings = files["ratings"]
    batch_lines = [
        line.rstrip(b"\r")
        for path in batches.paths
        for line, reason in zip(
            path.read_bytes().splitlines()[1 if ratings.format.header else 0 :],
            batches.reasons[0],
            strict=True,
        )
        if reason is None
    ]
    valid = {
        *ratings.clean,
        *(f.line.removeprefix(BOM).rstrip(b"\r") for f in fuzz["ratings"] if f.reason is None),
        *batch_lines,
    }
    expected = replayed_ratings(ratings, [ratings.path, *batches.paths], valid)
    validated = rows(run, "int_ratings_validated")
    assert {(row["user_id"], row["movie_id"]): row["rating"] for row in validated} == expected
    if layout == "ml-latest":  # `dbt source freshness` reads the same source views
        assert_freshness(tmp_path, data_dir, ratings, valid)
    movies = {row["movie_id"]: row for row in rows(run, "dim_movies")}
    titles = {movie_id: row["title"] for movie_id, row in movies.items()}
    for line in files["movies"].clean[:50]:  # titles as written, non-ASCII ones included
        fields = files["movies"].fields(line)
        assert titles[int(fields[0])] == fields[1]
        if len(fields) == 3:  # genres as written (ml-100k has genre flags instead)
            genres = [] if fields[2] == "(no genres listed)" else fields[2].split("|")
            assert list(movies[int(fields[0])]["genres"]) == genres
    quoted = 'Movie, The "Big" One (2001)' if layout == "ml-latest" else 'Movie "Big" One (2001)'
    assert titles[900_001] == quoted
    if files["movies"].encoding != "UTF-8":
        assert titles[900_004] == "Café (2001)"


def assert_freshness(tmp_path: Path, data_dir: Path, ratings: Files, valid: set[bytes]) -> None:
    """The newest rating's time, as `dbt source freshness` reports it, is the latest time of
    the valid lines (the fuzz lines' times are older or out of range)."""
    run = run_dbt(
        ["source", "freshness", "--vars", f"{{movielens_path: '{data_dir}'}}"],
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
    )
    assert run.returncode == 0, run.output[-3000:]  # a warning (old data) is not an error
    newest = max(int(ratings.fields(line)[3]) for line in valid)
    results = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    assert [result["unique_id"] for result in results] == ["source.movielens.movielens.ratings"]
    reported = datetime.fromisoformat(results[0]["max_loaded_at"].replace("Z", "+00:00"))
    assert reported == datetime.fromtimestamp(newest, tz=UTC), results[0]


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    """Header-only ratings and movies files, empty tags and links files (Spark lists no empty
    file, so an empty ratings or movies file is reported missing by the layout check)."""
    data_dir = tmp_path / "ml-latest"
    write_dataset(out_dir=data_dir, layout="ml-latest", n_ratings=CLEAN_RATINGS)
    for name in ("ratings.csv", "movies.csv"):
        path = data_dir / name
        path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    for name in ("tags.csv", "links.csv"):
        (data_dir / name).write_bytes(b"")
    run = build(tmp_path, data_dir)
    for table in ("int_ratings_validated", "dim_movies", "fct_rejected_rows"):
        assert rows(run, table) == [], table
