#!/usr/bin/env bash
# Production start: migrate, collect static files, then hand the process to gunicorn.
#
#   DJANGO_SECRET_KEY=... DATABASE_URL=postgres://... deploy/serve.sh
#
# Settings default to recommender_site.settings.prod; every knob is an environment
# variable (see docs/production.md). exec keeps gunicorn as PID 1 of this script so
# the process manager's SIGTERM reaches it and workers shut down gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-recommender_site.settings.prod}"

if [ -z "${DJANGO_SECRET_KEY:-}" ] && [ "$DJANGO_SETTINGS_MODULE" = "recommender_site.settings.prod" ]; then
  echo "serve.sh: DJANGO_SECRET_KEY is not set." >&2
  echo "  export DJANGO_SECRET_KEY=\$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')" >&2
  exit 2
fi

echo "serve.sh: settings $DJANGO_SETTINGS_MODULE"
"$PY" manage.py check --deploy
"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
exec "$PY" -m gunicorn -c deploy/gunicorn.conf.py recommender_site.wsgi:application
