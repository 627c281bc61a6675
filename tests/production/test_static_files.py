"""Whitenoise serves collected static files under production settings, with no web server in front."""
import json
import textwrap

from tests.production.conftest import run_python

CLIENT_SCRIPT = textwrap.dedent(
    """
    import django, json
    django.setup()
    from django.templatetags.static import static
    from django.test import Client
    client = Client()
    plain = client.get("/static/admin/css/base.css")
    hashed_url = static("admin/css/base.css")
    hashed = client.get(hashed_url)
    gzipped = client.get(hashed_url, headers={"accept-encoding": "gzip"})
    print(json.dumps({
        "plain_status": plain.status_code,
        "plain_type": plain["Content-Type"],
        "plain_body": b"".join(plain.streaming_content).decode()[:2000],
        "hashed_url": hashed_url,
        "hashed_status": hashed.status_code,
        "hashed_cache": hashed["Cache-Control"],
        "gzip_encoding": gzipped.get("Content-Encoding"),
    }))
    """
)


def test_whitenoise_serves_collected_static_files(prod_sqlite_env, tmp_path):
    """After collectstatic into a tmp STATIC_ROOT: the file is served, its hashed name cached for a year."""
    collect = run_python(["manage.py", "collectstatic", "--noinput", "--verbosity", "0"], prod_sqlite_env)
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "staticfiles" / "staticfiles.json").is_file()

    result = run_python(["-c", CLIENT_SCRIPT], prod_sqlite_env)
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    source = (tmp_path / "staticfiles" / "admin" / "css" / "base.css").read_text()
    assert served["plain_status"] == 200
    assert served["plain_type"].startswith("text/css")
    assert served["plain_body"] == source[:2000]
    assert served["hashed_url"].startswith("/static/admin/css/base.") and served["hashed_url"] != "/static/admin/css/base.css"
    assert served["hashed_status"] == 200
    assert served["hashed_cache"] == "max-age=315360000, public, immutable"
    assert served["gzip_encoding"] == "gzip"
