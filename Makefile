# Two commands do all the set-up on a fresh machine (see README.md):
#   make build   create .venv, install the pinned project, run `dbt build` on the demo seeds
#   make test    the same set-up, then the whole test suite (what .ci/run calls)
#   make test-fast  the unit tests alone (no dbt builds)
# After either, `source .venv/bin/activate` gives plain `dbt build`, `dbt show`, ...

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps build test test-fast lint constraints clean
JVM_ARCHIVE := .spark/jvm/spark-classes.jsa

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# compat mode: dbt discovers its plugins with pkgutil, which cannot see setuptools'
	# default editable import hooks.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

setup: $(STAMP) system-deps $(JVM_ARCHIVE)

# The Spark driver's class-data-sharing archive (python_jobs/tools/jvm_archive.py): follows the
# installed jars, so it is rebuilt whenever the virtualenv is.
$(JVM_ARCHIVE): $(STAMP) | system-deps
	$(BIN)/python -m python_jobs.tools.jvm_archive --archive $(JVM_ARCHIVE)

system-deps:
	@bash scripts/install-system-deps.sh

build: setup
	DBT_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/dbt build

# The whole suite on two workers; tests that share a build share a worker (tests/conftest.py).
test: setup
	DBT_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/python -m pytest -n 2 --dist loadgroup

# The unit tests alone (no dbt command, no cluster, no lint).
test-fast: setup
	DBT_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/python -m pytest -n 2 --dist loadgroup -m "not dbt"

# tests/test_lint.py runs these very lines, so `make test` (and CI) lint as well. sqlfluff
# lints models and data tests with the dbt templater (it compiles the project, on Java), and
# macro files with the plain Jinja one, which the dbt templater skips (macros/.sqlfluff).
lint: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models data_tests --disable-progress-bar
	$(BIN)/sqlfluff lint macros --templater jinja --disable-progress-bar

# Regenerate the transitive pins after changing pyproject.toml.
constraints: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^movielens-dbt-spark' > constraints.txt

clean:
	rm -rf target logs .spark artifacts
