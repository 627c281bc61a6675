"""Headers and limits of a real site: CSP with a nonce, Permissions-Policy, login throttling (django-axes)."""
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

pytestmark = pytest.mark.django_db

WRONG, RIGHT = "not-the-password", "a-long-pass-phrase-9"


def test_pages_carry_a_csp_whose_nonce_is_on_the_inline_script(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">document.documentElement' in response.content.decode()
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == f"'self' 'nonce-{nonce}'"  # no 'unsafe-inline' for scripts
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "https://image.tmdb.org" in directives["img-src"]
    assert nonce not in client.get("/")["Content-Security-Policy"]  # a fresh nonce per response


def test_every_inline_script_in_the_templates_carries_the_nonce():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    for path in templates.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", path.read_text()):
            assert "src=" in tag or 'nonce="{{ request.csp_nonce }}"' in tag, (path, tag)


def test_permissions_policy_switches_off_unused_features(client):
    policy = client.get("/healthz")["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


def _user(**fields):
    return User.objects.create_user(username="erin", password=RIGHT, **fields)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_thirty_wrong_passwords_lock_the_account_for_this_address(client, url, settings):
    _user(is_staff=True)
    statuses = [client.post(url, {"username": "erin", "password": WRONG}).status_code for _ in range(30)]
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT:]) == {429}
    response = client.post(url, {"username": "erin", "password": RIGHT})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session  # the right password after the lockout does not sign in


def test_a_few_wrong_passwords_then_the_right_one_signs_in_and_resets_the_count(client, settings):
    _user()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("login"), {"username": "erin", "password": WRONG}).status_code == 200
    response = client.post(reverse("login"), {"username": "erin", "password": RIGHT})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_a_locked_username_does_not_lock_another_one(client, settings):
    _user()
    User.objects.create_user(username="fred", password=RIGHT)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "erin", "password": WRONG})
    response = client.post(reverse("login"), {"username": "fred", "password": RIGHT})
    assert response.status_code == 302
