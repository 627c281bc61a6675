# One command to run the site, one to run the tests (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: install run serve test lint migrations-check data

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

# The server trains the model and builds the content index (sentence embeddings, about 1.5 min
# the first time, seconds afterwards) in the background when they are missing: the site answers
# with popular picks meanwhile, and both stop with the server.
run: data
	$(PY) manage.py runserver 127.0.0.1:8000

# Production: gunicorn with prod settings (needs DJANGO_SECRET_KEY; see docs/production.md).
serve: install
	PY=$(PY) deploy/serve.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run
