# Every target sets up what it needs: a fresh clone runs `make ask Q="..."` or `make test` directly.
PY      := .venv/bin/python
STAMP   := .venv/.installed
Q       ?= What did the US offer Ukraine?
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup ask chat bot test lint bench rebuild clean

setup: $(STAMP)

# One pip command installs everything, torch pinned in pyproject.toml (a bare torch pulls a CUDA build).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

ask: $(STAMP)
	$(PY) -m cli ask "$(Q)"

chat: $(STAMP)
	$(PY) -m cli chat

bot: $(STAMP)
	$(PY) -m bot

rebuild: $(STAMP)
	$(PY) scripts/rebuild_index.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) scripts/bench.py

clean:
	rm -rf .venv data .pytest_cache .ruff_cache .mypy_cache
