#!/usr/bin/env bash
# The load test end to end, on loopback only, bounded in time:
#   1. a throw-away data dir: SQLite database (or DATABASE_URL if set), static root, model dir;
#   2. migrate, import ml-latest-small (MOVIELENS_DIR), collectstatic, build_content (unless
#      BUILD_CONTENT=0), train_ncf ($TRAIN_EPOCHS epochs, with the product's EASE part);
#   3. gunicorn with production settings on 127.0.0.1:$PORT (plain HTTP, so SSL redirect and
#      secure cookies are off for this run only);
#   4. a $WARMUP-second unmeasured warm-up, then loadgen.py: $USERS virtual users for $DURATION seconds, RSS of each worker from /proc;
#   5. gunicorn stopped (TERM to its master), the report left in $OUT_DIR/report.json.
#
#   loadtest/run.sh                      # 32 users, 60 s, 3 workers
#   USERS=8 DURATION=10 loadtest/run.sh  # a quick smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
PORT="${PORT:-8765}"
USERS="${USERS:-32}"
DURATION="${DURATION:-60}"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/recommender-load.XXXXXX")"
OUT_DIR="${OUT_DIR:-$WORK}"
SHARED_SMALL="$(cd .. && pwd)/shared/data/ml-latest-small"
export MOVIELENS_DIR="${MOVIELENS_DIR:-$SHARED_SMALL}"

[ -f "$MOVIELENS_DIR/ratings.csv" ] || { echo "run.sh: no MovieLens release at $MOVIELENS_DIR" >&2; exit 2; }

export DJANGO_SETTINGS_MODULE=recommender_site.settings.prod
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_ALLOWED_HOSTS=127.0.0.1
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false
export DATA_DIR="$WORK/data" DJANGO_STATIC_ROOT="$WORK/static" MODEL_DIR="$WORK/models"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$WORK/data/db.sqlite3}"
mkdir -p "$DATA_DIR"

echo "run.sh: work dir $WORK"
"$PY" manage.py migrate --noinput --verbosity 0
"$PY" manage.py import_movielens "$MOVIELENS_DIR"
"$PY" manage.py collectstatic --noinput --verbosity 0
# The content part of the ranker (BUILD_CONTENT=0 skips it: the product then runs without it).
if [ "${BUILD_CONTENT:-1}" = 1 ]; then
  "$PY" manage.py build_content --verbosity 0
fi
# The workers serve a trained model (TRAIN_EPOCHS=0 leaves it to the first worker's start-up).
TRAIN_EPOCHS="${TRAIN_EPOCHS:-5}"
if [ "$TRAIN_EPOCHS" -gt 0 ]; then
  "$PY" manage.py train_ncf --epochs "$TRAIN_EPOCHS" --output "$MODEL_DIR" --verbosity 0
fi

PIDFILE="$WORK/gunicorn.pid"
"$PY" -m gunicorn -c deploy/gunicorn.conf.py --bind "127.0.0.1:$PORT" --pid "$PIDFILE" \
  recommender_site.wsgi:application >"$WORK/gunicorn.log" 2>&1 &
GUNICORN=$!
stop() { kill -TERM "$GUNICORN" 2>/dev/null || true; wait "$GUNICORN" 2>/dev/null || true; }
trap stop EXIT

# Wait (at most 120 s) until every worker answers /healthz.
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$GUNICORN" 2>/dev/null || { echo "run.sh: gunicorn exited; log:" >&2; tail -50 "$WORK/gunicorn.log" >&2; exit 1; }
  sleep 1
done
# ... and (when a model was trained) until every worker has loaded it (each logs one line).
for _ in $(seq 1 60); do
  [ "$TRAIN_EPOCHS" -gt 0 ] || break
  [ "$(grep -c 'recommender ready:' "$WORK/gunicorn.log" || true)" -ge "$WEB_CONCURRENCY" ] && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/healthz"; echo

# Warm-up (not measured): every worker imports its lazy modules and loads the model, so the
# measured run's "start" memory is a serving worker's, and growth after it would be a leak.
WARMUP="${WARMUP:-15}"
if [ "$WARMUP" -gt 0 ]; then
  timeout $((WARMUP + 60)) "$PY" loadtest/loadgen.py --url "http://127.0.0.1:$PORT" --users "$USERS" \
    --duration "$WARMUP" --seed 999 >"$WORK/warmup.json" || { echo "run.sh: warm-up had errors:" >&2; cat "$WORK/warmup.json" >&2; }
fi

status=0
timeout $((DURATION + 120)) "$PY" loadtest/loadgen.py --url "http://127.0.0.1:$PORT" --users "$USERS" \
  --duration "$DURATION" --master-pid "$(cat "$PIDFILE")" --json "$OUT_DIR/report.json" || status=$?
echo "run.sh: gunicorn log $WORK/gunicorn.log ($(grep -c '" 5[0-9][0-9] ' "$WORK/gunicorn.log" || true) 5xx lines)"
exit "$status"
