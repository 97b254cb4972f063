# aegis: the two commands of the README are `make demo` and `make test`.
PY ?= python3
STAMP := .make/install

.PHONY: install demo test test-notebooks test-py check-sync bench docs docs-serve test-browser test-tutorial clean test-matrix

install: $(STAMP)
$(STAMP): pyproject.toml
	$(PY) -m pip install -q -e ".[dev]"
	@mkdir -p .make && touch $@

demo: install  ## generate a demo project, start it, print its live health, stop it
	$(PY) tools/demo.py

test: install test-notebooks test-py  ## everything CI runs after the sync check

test-notebooks: install
	nbdev-test --n-workers 2 $(if $(shell docker info >/dev/null 2>&1 && echo y),--flags docker,)

test-py: install
	$(PY) -m pytest -q -rfE --durations=25 -n 2 --dist loadgroup tests

check-sync: install  ## notebooks, package and README agree with what is committed
	tools/check_sync.sh

bench: install
	$(PY) bench/init_bench.py

DOCS_PORT ?= 8008
docs: install  ## the docs site from the notebooks into site/ (MkDocs Material, no Quarto)
	$(PY) tools/docs/build.py
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build -q

docs-serve: docs  ## serve site/ on http://127.0.0.1:$(DOCS_PORT)/
	$(PY) -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory site

test-browser: install  ## the docs site and the dashboard in headless Chromium (tools/install-browser.sh first)
	$(PY) -m pytest -q tests/test_docs_browser.py tests/test_dashboard_browser.py

test-tutorial: install  ## the tutorial's saved outputs against a fresh run (nbval; needs a Docker engine)
	$(PY) tools/docs/check_tutorial.py

clean:
	rm -rf .make _docs _proc site

test-matrix: install  ## every pair of components installed and tested (about an hour on 2 cores)
	AEGIS_FULL_MATRIX=1 $(PY) -m pytest -q -rfE -n 2 --dist loadgroup -m slow tests
