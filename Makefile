# chatforensics: one command each for the things people do.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ES := scripts/elasticsearch.sh
ES_PORT ?= 9200
ES_URL ?= http://127.0.0.1:$(ES_PORT)
export ES_PORT
DEMO_OUT ?= demo-out

.PHONY: venv sysdeps sysdeps-demo demo test unit lint es-start es-stop es-status es-start-secure es-stop-secure \
	es-status-secure bench clean

# The venv is rebuilt when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# Pango + a CJK font (PDF reports) and headless Chromium (report safety test): installed when root with
# apt-get, otherwise the command to install them is printed.
sysdeps:
	scripts/sysdeps.sh test

sysdeps-demo:
	scripts/sysdeps.sh demo

es-start: sysdeps-demo
	$(ES) start

es-stop:
	$(ES) stop

es-status:
	$(ES) status

# A second node for the secured-cluster tests: https on 127.0.0.1:9201 with its own CA, file-realm users;
# `$(ES) env-secure` prints the file with its CA path and test credentials.
es-start-secure: sysdeps-demo
	$(ES) start-secure

es-stop-secure:
	$(ES) stop-secure

es-status-secure:
	$(ES) status-secure

demo: venv sysdeps-demo es-start
	CHATFORENSICS_ES_URL=$(ES_URL) $(BIN)/chatforensics run --input examples/slack-demo --out $(DEMO_OUT) --pdf
	@echo "Reports: $(CURDIR)/$(DEMO_OUT)/reports/index.html"
	@$(BIN)/python -c "import json;c=json.load(open('$(DEMO_OUT)/manifest.json'))['counts'];print(f\"hits: {c['hits']}  cases: {c['cases']}  messages: {c['messages']}  malformed: {c['malformed']}\")"

lint: venv
	$(BIN)/ruff check .

unit: venv sysdeps
	$(BIN)/pytest -q -m "not integration and not slow"

# The whole suite, against live Elasticsearch nodes started here (plain, and secured for the security tests).
test: venv sysdeps es-start es-start-secure
	$(BIN)/ruff check .
	CHATFORENSICS_ES_URL=$(ES_URL) CHATFORENSICS_SECURE_ES_ENV="$$($(ES) env-secure)" $(BIN)/pytest -q

# Speed and memory against baselines; SIZES=100000 for a quick run. Exports are cached in ~/.cache/chatforensics.
SIZES ?= 100000,1000000
PROFILES ?= tidy,dense
bench: venv
	CHATFORENSICS_ES_URL=$(ES_URL) $(BIN)/python -m benchmarks.run --sizes $(SIZES) --profiles $(PROFILES)

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .ruff_cache build *.egg-info
