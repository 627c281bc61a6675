"""Production settings: refuse to start without a secret, pass Django's deployment checklist."""
from tests.production.conftest import prod_env, run_python


def test_prod_settings_refuse_to_start_without_secret_key():
    """No DJANGO_SECRET_KEY: any manage.py command fails with ImproperlyConfigured naming the variable."""
    result = run_python(["manage.py", "check"], prod_env(DJANGO_SECRET_KEY=None))

    assert result.returncode == 1
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set." in result.stderr


def test_prod_settings_refuse_an_empty_secret_key():
    """An empty DJANGO_SECRET_KEY counts as missing."""
    result = run_python(["manage.py", "check"], prod_env(DJANGO_SECRET_KEY=""))

    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY is not set." in result.stderr


def test_check_deploy_is_clean_with_a_long_random_key():
    """manage.py check --deploy under production settings: exit 0 and not one warning."""
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], prod_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_prod_settings_values():
    """DEBUG is off whatever the environment says, cookies are HTTPS-only, static files are hashed."""
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.STORAGES['staticfiles']['BACKEND'])"
    )
    result = run_python(["-c", code], prod_env(DJANGO_DEBUG="true"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "True", "True", "True", "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]
