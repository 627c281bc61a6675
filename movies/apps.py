import os
import sys

from django.apps import AppConfig


def _is_web_server() -> bool:
    """True in a process that will serve requests: runserver's reloader child or a WSGI server.

    ``runserver`` runs twice: a watcher process and the child that serves (RUN_MAIN=true);
    only the child starts the engine. Other management commands (migrate, test, ...) never do.
    """
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:2] if sys.argv else []
    if "runserver" in argv:
        return os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv
    # "gunicorn ..." or "python -m gunicorn ..." (argv[0] is then .../gunicorn/__main__.py).
    return any(name in sys.argv[0] for name in ("gunicorn", "uwsgi", "waitress", "uvicorn", "daphne"))


class MoviesConfig(AppConfig):
    name = "movies"
    verbose_name = "Movie catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_in

        from movies.sessions import session_keep_on_login

        user_logged_in.connect(session_keep_on_login, dispatch_uid="movies.session_keep_on_login")

        # Start loading (or training) the recommender as soon as the server starts, in a
        # background thread; every other entry point starts it lazily on first use.
        if settings.RECOMMENDER_TRAIN_ON_STARTUP and _is_web_server():
            from movies.engine import recommender

            recommender.ensure_started()

