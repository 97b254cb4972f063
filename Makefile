# aegis: the two commands of the README are `make demo` and `make test`.
PY ?= python3
STAMP := .make/install

.PHONY: install demo test test-notebooks test-py check-sync bench docs clean

install: $(STAMP)
$(STAMP): pyproject.toml
	$(PY) -m pip install -q -e ".[dev]"
	@mkdir -p .make && touch $@

demo: install  ## generate a demo project, start it, print its live health, stop it
	$(PY) tools/demo.py

test: install test-notebooks test-py  ## everything CI runs after the sync check

test-notebooks: install
	nbdev-test --n_workers 2 $(if $(shell docker info >/dev/null 2>&1 && echo y),--flags docker,)

test-py: install
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

check-sync: install  ## notebooks, package and README agree with what is committed
	tools/check_sync.sh

bench: install
	$(PY) bench/init_bench.py

clean:
	rm -rf .make _docs _proc site
