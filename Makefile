# One command to run the site, one to run the tests (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: install run serve test migrations-check data

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

data: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py fetch_movielens --if-missing
	$(PY) manage.py import_movielens

# The content index (sentence embeddings, about 1.5 min the first time, seconds afterwards) is
# built beside the running site, which picks it up when it is ready.
run: data
	@mkdir -p "$${DATA_DIR:-data}"
	@echo "Building the content index in the background (log: $${DATA_DIR:-data}/build_content.log)"
	$(PY) manage.py build_content > "$${DATA_DIR:-data}/build_content.log" 2>&1 &
	$(PY) manage.py runserver 127.0.0.1:8000

# Production: gunicorn with prod settings (needs DJANGO_SECRET_KEY; see docs/production.md).
serve: install
	PY=$(PY) deploy/serve.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run
