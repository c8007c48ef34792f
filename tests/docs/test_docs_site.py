"""The project's documentation site, built from the ml-latest-small warehouse and checked in a
real browser (Debian's Chromium, headless, driven by Playwright).

`dbt docs generate` runs against the tables the `ml_latest_small_build` fixture built, and the
catalog must give a type to every column of every table, view and source. `dbt docs serve` then
serves the site, and the browser checks the lineage graph (the path from the ratings source to
the recommendation tables) and a model page (columns, their descriptions and types). The graph is
drawn by cytoscape on a canvas, so the graph checks read the app's own state (its `graph`
service and the cytoscape instance it renders), not pixels. Screenshots go to artifacts/docs/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import (
    ARTIFACTS_DIR,
    DBT,
    PROJECT_ROOT,
    DbtRun,
    assert_dbt_ok,
    free_port,
    run_dbt,
)

pytestmark = pytest.mark.dbt

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
SCREENSHOTS_DIR = ARTIFACTS_DIR / "docs"
WAIT_MS = 30_000  # any single thing the page must do: load, render the graph, show a model
SERVER_START_SECONDS = 90

PACKAGE = "movielens"
RATINGS_SOURCE = f"source.{PACKAGE}.movielens.ratings"


def model_id(name: str) -> str:
    return f"model.{PACKAGE}.{name}"


RECOMMENDATION_TABLES = ("fct_similar_movies", "ml_user_recommendations")
# The lineage the graph must show: in each chain, every node reaches the next through drawn
# edges (the similarity chains are direct edges; the served recommendations come through the split,
# a recommender's tuning and lists; one node per table, whichever engine builds it).
LINEAGE_CHAINS = [
    [
        RATINGS_SOURCE,
        model_id("stg_movielens__ratings"),
        model_id("int_ratings_checked"),
        model_id("int_ratings_validated"),
        model_id("int_movie_pairs"),
        model_id("int_movie_pair_scores"),
        model_id("fct_similar_movies"),
    ],
    [
        model_id("ml_rating_splits"),
        model_id("int_training_ratings"),
        model_id("int_training_movie_pair_scores"),
        model_id("int_similar_movie_validation_lists"),
        model_id("ml_similarity_evaluation"),
        model_id("fct_similar_movies"),
    ],
    [
        model_id("int_training_ratings"),
        model_id("int_matrix_similar_movies"),
        model_id("int_similar_movie_validation_lists"),
    ],
    [
        model_id("int_ratings_validated"),
        model_id("int_matrix_similar_movies"),
        model_id("fct_similar_movies"),
    ],
    [
        model_id("int_ratings_validated"),
        model_id("ml_rating_splits"),
        model_id("ml_ease_tuning"),
        model_id("ml_ease_recommendations"),
        model_id("ml_user_recommendations"),
    ],
    [
        model_id("int_ratings_validated"),
        model_id("int_movie_pair_scores"),
        model_id("ml_item_knn_recommendations"),
        model_id("ml_user_recommendations"),
    ],
]
LINEAGE_NODES = list(dict.fromkeys(node for chain in LINEAGE_CHAINS for node in chain))
# Typed into the graph's --select box: the recommendation tables and everything upstream.
GRAPH_SELECTION = " ".join(f"+{name}" for name in RECOMMENDATION_TABLES)

MODEL_PAGE = model_id("fct_similar_movies")
MODEL_PAGE_KEY_COLUMNS = ("movie_id", "similar_movie_id", "score")
CATALOGUED_MATERIALIZATIONS = {"table", "view", "incremental"}

# The docs app is AngularJS; its services hold the loaded manifest and the rendered graph.
_GRAPH_SERVICE = "angular.element(document.documentElement).injector().get('graph')"
PROJECT_LOADED_JS = f"""() => {{
    if (!window.angular) return false;
    const injector = angular.element(document.documentElement).injector();
    return !!(injector && {_GRAPH_SERVICE}.graph.pristine.dag);
}}"""
# The rendered cytoscape graph holds exactly the nodes the graph service selected.
GRAPH_RENDERED_JS = f"""(selection) => {{
    const graph = {_GRAPH_SERVICE};
    const cy = graph.graph_element;
    if (!cy || graph.orientation !== 'fullscreen') return false;
    const selector = angular.element(document.documentElement).injector().get('selectorService');
    if (selection !== null && selector.selection.clean.include !== selection) return false;
    const wanted = graph.graph.elements.filter(e => !e.data.source).map(e => e.data.id).sort();
    const shown = cy.nodes().map(n => n.id()).sort();
    return shown.length > 0 && JSON.stringify(wanted) === JSON.stringify(shown);
}}"""
GRAPH_STATE_JS = f"""() => {{
    const cy = {_GRAPH_SERVICE}.graph_element;
    return {{
        width: cy.width(),
        height: cy.height(),
        nodes: cy.nodes().map(n => {{
            const box = n.renderedBoundingBox();
            return {{
                id: n.id(), label: n.data('label'), visible: n.visible(),
                x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2, w: box.w, h: box.h,
            }};
        }}),
        edges: cy.edges().map(e => [e.source().id(), e.target().id(), e.visible()]),
    }};
}}"""
DETAILS_JS = """() => [...document.querySelectorAll('dl.detail')].map(
    item => [item.querySelector('dt'), item.querySelector('dd')].map(
        cell => cell ? cell.innerText.trim() : ''))"""
COLUMN_ROWS_JS = """() => [...document.querySelectorAll('tr.column-row')].map(
    row => [...row.cells].slice(0, 3).map(cell => cell.innerText.trim()))"""


# --- the generated site ------------------------------------------------------------------


@dataclass(frozen=True)
class DocsSite:
    """`dbt docs generate` output: the target directory with manifest.json and catalog.json."""

    target: Path
    manifest: dict[str, Any]
    catalog: dict[str, Any]
    run: DbtRun


@pytest.fixture(scope="module")
def docs(
    ml_latest_small: Path,
    ml_latest_small_build: DbtRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> DocsSite:
    work = tmp_path_factory.mktemp("docs-site")
    run = run_dbt(
        ["docs", "generate", "--vars", f"{{movielens_path: '{ml_latest_small}'}}"],
        spark_dir=ml_latest_small_build.spark_dir,
        work_dir=work,
        schema=ml_latest_small_build.schema,
    )
    assert_dbt_ok(run)
    target = work / "target"
    for name in ("manifest.json", "catalog.json"):
        assert (target / name).is_file(), f"dbt docs generate wrote no {target / name}"
    return DocsSite(
        target=target,
        manifest=json.loads((target / "manifest.json").read_text()),
        catalog=json.loads((target / "catalog.json").read_text()),
        run=run,
    )


def catalogued_nodes(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Models materialized as tables or views, and seeds: what the catalog must describe."""
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "seed"
        or (
            node["resource_type"] == "model"
            and node["config"]["materialized"] in CATALOGUED_MATERIALIZATIONS
        )
    }


def ancestors(manifest: dict[str, Any], unique_ids: list[str]) -> set[str]:
    """The nodes and everything upstream of them, following the manifest's parent map."""
    parents = manifest["parent_map"]
    seen: set[str] = set()
    todo = list(unique_ids)
    while todo:
        unique_id = todo.pop()
        if unique_id not in seen:
            seen.add(unique_id)
            todo.extend(parents.get(unique_id, []))
    return seen


def path_between(edges: set[tuple[str, str]], start: str, end: str) -> list[str] | None:
    """A shortest directed path from start to end over the edges, or None."""
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == end:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for child in sorted(children.get(node, [])):
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_catalog_types_every_column_of_every_table_and_source(docs: DocsSite) -> None:
    manifest, catalog = docs.manifest, docs.catalog
    assert not catalog.get("errors"), f"catalog errors: {catalog['errors']}"
    expected = {"nodes": catalogued_nodes(manifest), "sources": manifest["sources"]}
    assert expected["sources"], "the manifest has no sources: was movielens_path passed?"
    missing_recommendations = [
        name for name in RECOMMENDATION_TABLES if model_id(name) not in expected["nodes"]
    ]
    assert not missing_recommendations, (
        f"recommendation tables missing from the manifest: {missing_recommendations}"
    )

    problems: list[str] = []
    for kind, nodes in expected.items():
        for unique_id, node in sorted(nodes.items()):
            entry = catalog[kind].get(unique_id)
            if entry is None:
                problems.append(f"{unique_id}: not in catalog.json {kind}")
                continue
            columns = entry["columns"]
            if not columns:
                problems.append(f"{unique_id}: catalog lists no columns")
            problems.extend(
                f"{unique_id}.{column['name']}: empty type"
                for column in columns.values()
                if not str(column.get("type") or "").strip()
            )
            in_table = {name.lower() for name in columns}
            problems.extend(
                f"{unique_id}.{name}: documented but not a column of the relation"
                for name in node.get("columns", {})
                if name.lower() not in in_table
            )
    assert not problems, "catalog.json does not type every column:\n" + "\n".join(problems)


def test_catalog_row_counts_are_the_tables_true_counts(docs: DocsSite) -> None:
    """Spark's metastore says "0 rows" for every table the build wrote; the docs must not.

    The expected counts come from reading each table's parquet files with pandas.
    """
    run = docs.run
    tables = {
        unique_id: node
        for unique_id, node in catalogued_nodes(docs.manifest).items()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "table"
    }
    assert model_id("fct_movie_similarities") in tables, "no table models in the manifest"
    problems = []
    for unique_id, node in sorted(tables.items()):
        stats = docs.catalog["nodes"][unique_id]["stats"]
        rows = stats.get("rows")
        expected = len(run.read_table(node["alias"]))
        if rows is None or not rows["include"]:
            problems.append(f"{unique_id}: no row count in the catalog ({stats})")
        elif rows["value"] != expected:
            problems.append(f"{unique_id}: catalog says {rows['value']} rows, table has {expected}")
    assert not problems, "catalog.json row counts are wrong:\n" + "\n".join(problems)


# --- the served site in a browser --------------------------------------------------------


def wait_until_serving(server: subprocess.Popen, url: str, log: Path) -> None:
    """Return once `url` answers 200; fail early if the server exits."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if server.poll() is not None:
            raise AssertionError(
                f"dbt docs serve exited with {server.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"dbt docs serve did not answer {url} within {SERVER_START_SECONDS}s:\n"
                f"{log.read_text()[-3000:]}"
            )
        time.sleep(0.25)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def docs_url(docs: DocsSite) -> Iterator[str]:
    """`dbt docs serve` on a free port, as a user runs it; stopped by pid afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = docs.target.parent / "docs-serve.log"
    env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(docs.run.spark_dir),
        "DBT_SCHEMA": docs.run.schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        DBT,
        "docs",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
        "--target-path",
        str(docs.target),
        "--log-path",
        str(docs.target.parent / "logs"),
    ]
    with log.open("w") as log_file:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        wait_until_serving(server, f"{url}/catalog.json", log)
        yield url
    finally:
        stop(server)


@dataclass
class Browser:
    """A headless Chromium context that may only talk to the docs server."""

    context: Any
    origin: str
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser(docs_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run scripts/install-system-deps.sh "
            "(`make system-deps`), which installs Debian's chromium"
        )
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            browser = Browser(context=context, origin=docs_url)

            def only_the_docs_server(route: Route) -> None:
                request_url = route.request.url
                if request_url.startswith((docs_url + "/", "data:", "blob:")):
                    route.continue_()
                else:
                    browser.blocked.append(request_url)
                    route.abort()

            context.route("**/*", only_the_docs_server)
            yield browser
        finally:
            context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield page
    finally:
        page.close()


def assert_nothing_fetched_from_outside(browser: Browser) -> None:
    assert not browser.blocked, f"the docs site requested outside resources: {browser.blocked}"


def page_report(page: Page, name: str, message: str) -> str:
    """A failure message with a screenshot and the first 2,000 characters of the page text."""
    shot = SCREENSHOTS_DIR / f"{name}-failure.png"
    try:
        page.screenshot(path=str(shot), full_page=True)
        text = page.inner_text("body")[:2000]
    except PlaywrightError as error:
        text = f"<page unavailable: {error}>"
    return f"{message}\nURL: {page.url}\nscreenshot: {shot}\npage text:\n{text}"


def wait_for(page: Page, name: str, what: str, js: str, arg: Any = None) -> None:
    try:
        page.wait_for_function(js, arg=arg, timeout=WAIT_MS)
    except PlaywrightTimeoutError:
        raise AssertionError(
            page_report(page, name, f"timed out after {WAIT_MS / 1000:.0f}s waiting for {what}")
        ) from None


def open_site(page: Page, origin: str, route: str, name: str) -> None:
    page.goto(f"{origin}/#!/{route}", wait_until="load")
    wait_for(page, name, "the docs app to load the project", PROJECT_LOADED_JS)


CHART_JS = """() => [...document.querySelectorAll('img')]
    .filter(img => img.getAttribute('src').endsWith('recommender_metrics.svg'))
    .map(img => [img.complete, img.naturalWidth, img.naturalHeight])"""


def test_overview_shows_the_recommender_metric_chart(
    page: Page, browser: Browser, docs: DocsSite
) -> None:
    """`asset-paths` copies the chart next to the site, and the overview draws it."""
    assert (docs.target / "assets" / "recommender_metrics.svg").is_file()
    open_site(page, browser.origin, "overview", "overview-chart")
    wait_for(
        page,
        "overview-chart",
        "the metric chart to load",
        "() => [...document.querySelectorAll('img')].some("
        "img => img.getAttribute('src').endsWith('recommender_metrics.svg')"
        " && img.complete && img.naturalWidth > 0)",
    )
    images = page.evaluate(CHART_JS)
    assert images and all(done and width > 400 and height > 200 for done, width, height in images)
    page.screenshot(path=str(SCREENSHOTS_DIR / "overview-chart.png"), full_page=True)
    assert_nothing_fetched_from_outside(browser)


def test_lineage_graph_shows_ratings_source_to_recommendation_tables(
    page: Page, browser: Browser, docs: DocsSite
) -> None:
    open_site(page, browser.origin, "overview", "lineage")
    # The "View Lineage Graph" button; its title moves to a tooltip attribute once bootstrapped.
    launcher = page.locator(".launcher-btn a")
    launcher.wait_for(state="visible")
    launcher.click()
    wait_for(page, "lineage", "the full lineage graph", GRAPH_RENDERED_JS, None)
    page.screenshot(path=str(SCREENSHOTS_DIR / "lineage-full.png"))

    page.locator('input[ng-model="selectorService.selection.dirty.include"]').fill(GRAPH_SELECTION)
    page.locator("#submit-graph-selection").click()
    wait_for(
        page,
        "lineage",
        f"the graph of --select {GRAPH_SELECTION!r}",
        GRAPH_RENDERED_JS,
        GRAPH_SELECTION,
    )
    page.screenshot(path=str(SCREENSHOTS_DIR / "lineage.png"))
    state = page.evaluate(GRAPH_STATE_JS)

    shown = {node["id"]: node for node in state["nodes"]}
    expected_nodes = ancestors(docs.manifest, [model_id(name) for name in RECOMMENDATION_TABLES])
    not_upstream = [node for node in LINEAGE_NODES if node not in expected_nodes]
    assert not not_upstream, f"not in the manifest's lineage of the recommendations: {not_upstream}"
    missing = sorted(expected_nodes - shown.keys())
    extra = sorted(shown.keys() - expected_nodes)
    assert not missing and not extra, page_report(
        page, "lineage", f"graph nodes differ from the manifest: missing {missing}, extra {extra}"
    )

    drawn = {(source, target) for source, target, visible in state["edges"] if visible}
    parents = docs.manifest["parent_map"]
    expected_edges = {
        (parent, child)
        for child in expected_nodes
        for parent in parents.get(child, [])
        if parent in expected_nodes
    }
    assert drawn == expected_edges, page_report(
        page,
        "lineage",
        f"graph edges differ from the manifest: missing {sorted(expected_edges - drawn)}, "
        f"extra {sorted(drawn - expected_edges)}",
    )

    nodes_of = {**docs.manifest["nodes"], **docs.manifest["sources"]}
    for unique_id in LINEAGE_NODES:
        node, resource = shown[unique_id], nodes_of[unique_id]
        label = (
            f"{resource['source_name']}.{resource['name']}"
            if resource["resource_type"] == "source"
            else resource["name"]
        )
        on_canvas = 0 <= node["x"] <= state["width"] and 0 <= node["y"] <= state["height"]
        assert node["visible"] and node["w"] > 0 and on_canvas, page_report(
            page,
            "lineage",
            f"{unique_id} is not shown on the canvas: {node}, "
            f"canvas {state['width']}x{state['height']}",
        )
        assert node["label"] == label, page_report(
            page, "lineage", f"{unique_id} is labelled {node['label']!r}, not {label!r}"
        )

    paths = []
    for chain in LINEAGE_CHAINS:
        path = [chain[0]]
        for start, end in zip(chain, chain[1:], strict=False):
            hop = path_between(drawn, start, end)
            assert hop, page_report(page, "lineage", f"no drawn path from {start} to {end}")
            path.extend(hop[1:])
        paths.append(path)
    (SCREENSHOTS_DIR / "lineage.json").write_text(
        json.dumps({"selection": GRAPH_SELECTION, "paths": paths}, indent=2) + "\n"
    )
    assert_nothing_fetched_from_outside(browser)


def test_model_page_shows_columns_descriptions_and_catalog_types(
    page: Page, browser: Browser, docs: DocsSite
) -> None:
    node = docs.manifest["nodes"][MODEL_PAGE]
    catalog_types = {
        name.lower(): column["type"]
        for name, column in docs.catalog["nodes"][MODEL_PAGE]["columns"].items()
    }
    documented = {name: column["description"] for name, column in node["columns"].items()}
    missing_key_columns = [name for name in MODEL_PAGE_KEY_COLUMNS if name not in documented]
    assert not missing_key_columns, f"{MODEL_PAGE} does not document {missing_key_columns}"
    undescribed = sorted(name for name, text in documented.items() if not text.strip())
    assert not undescribed, f"{MODEL_PAGE} columns without a description: {undescribed}"

    open_site(page, browser.origin, f"model/{MODEL_PAGE}", "model-page")
    wait_for(
        page,
        "model-page",
        f"the column table of {node['name']}",
        """(count) => document.querySelectorAll('tr.column-row').length >= count""",
        len(catalog_types),
    )
    page.screenshot(path=str(SCREENSHOTS_DIR / "model-page.png"), full_page=True)

    text = normalized(page.inner_text("body"))
    model_description = normalized(node["description"].replace("`", ""))
    assert node["name"] in text and model_description in text, page_report(
        page, "model-page", f"the page does not show {node['name']} and its description"
    )

    rows = {
        name: (type_, description) for name, type_, description in page.evaluate(COLUMN_ROWS_JS)
    }
    problems = [f"catalog column {name} has no row" for name in catalog_types if name not in rows]
    for name, description in documented.items():
        if name not in rows:
            problems.append(f"documented column {name} has no row")
            continue
        shown_type, shown_description = rows[name]
        if shown_type != catalog_types.get(name.lower()):
            problems.append(
                f"{name}: type shown {shown_type!r}, catalog {catalog_types.get(name.lower())!r}"
            )
        if normalized(shown_description) != normalized(description):
            problems.append(f"{name}: description shown {shown_description!r}, yml {description!r}")
    assert not problems, page_report(
        page, "model-page", "column table does not match the docs:\n" + "\n".join(problems)
    )

    details = {label.lower(): value for label, value in page.evaluate(DETAILS_JS)}
    expected_rows = f"{len(docs.run.read_table(node['alias'])):,}"
    assert details.get("rows") == expected_rows, page_report(
        page, "model-page", f"details show rows {details.get('rows')!r}, table has {expected_rows}"
    )
    assert_nothing_fetched_from_outside(browser)
