# Every target sets up what it needs: a fresh clone runs `make ask Q="..."` or `make test` directly.
PY      := .venv/bin/python
STAMP   := .venv/.installed
Q       ?= What did the US offer Ukraine?
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup ask chat bot test lint bench rebuild clean messages

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

# The message catalogues: extract every _()/_n()/N_() string, then merge into each language's .po
# (translate the new entries there; tests/test_i18n.py fails while any is missing).
messages: $(STAMP)
	.venv/bin/pybabel extract -F babel.cfg -k _ -k _n:1,2 -k N_ --no-location --sort-output -w 100 \
		--omit-header -o index/locales/newsbot.pot bot cli index
	for lang in uk ru; do \
		test -f index/locales/$$lang/LC_MESSAGES/newsbot.po || \
			.venv/bin/pybabel init -D newsbot -d index/locales -l $$lang -i index/locales/newsbot.pot; \
		.venv/bin/pybabel update -D newsbot -d index/locales -l $$lang -i index/locales/newsbot.pot \
			--no-fuzzy-matching --ignore-obsolete -w 100; \
	done

clean:
	rm -rf .venv data .pytest_cache .ruff_cache .mypy_cache
