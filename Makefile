# Two entry points (see README): `make demo` and `make test`. Both set up what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
DEMO_WS ?= segjupyter-demo
PORT ?= 8866

.PHONY: demo test install chromium services bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# the engine tests run Spark (Java 17) and a throw-away PostgreSQL server they start themselves
services:
	@{ command -v java >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  echo "installing Java 17 and PostgreSQL for the engine tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    openjdk-17-jre-headless postgresql >/dev/null; }

demo: install
	$(VENV)/bin/segjupyter dashboard $(DEMO_WS) --build-demo --port $(PORT)

test: install chromium services
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/bench_build.py --sizes S,M

clean:
	rm -rf $(VENV) .pytest_cache artifacts
