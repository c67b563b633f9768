"""Login lockout (django-axes): AXES_FAILURE_LIMIT wrong passwords lock the account name, and
separately the client address; the page says so; staff lift it in the admin or with a command,
and it lifts by itself after the cool-off."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Dozens of logins: the real hasher would make this module take half a minute.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def limit(settings):
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("editor", password="right-password", is_staff=True)


def login(client, username, password, address="10.0.0.1", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def fail(client, times, username="editor", address="10.0.0.1"):
    for _ in range(times):
        response = login(client, username, "wrong-password", address)
    return response


def test_default_limit_is_five(limit):
    assert limit == 5


def test_wrong_passwords_below_the_limit_still_allow_login(client, staff, limit):
    assert fail(client, limit - 1).status_code == 200  # the login form again, with its error
    response = login(client, "editor", "right-password")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_account_is_locked_after_the_limit_even_with_the_right_password(client, staff, limit):
    response = fail(client, limit)
    assert response.status_code == 429
    page = response.content.decode()
    assert "locked" in page.lower() or "锁定" in page
    assert str(limit) in page
    # From another address too: the account name itself is locked.
    again = login(client, "editor", "right-password", address="10.9.9.9")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_the_limit_whatever_the_names(client, staff, limit):
    for number in range(limit):
        login(client, f"guess{number}", "wrong-password", address="10.0.0.66")
    assert login(client, "editor", "right-password", address="10.0.0.66").status_code == 429
    # The account is fine from elsewhere.
    assert login(client, "editor", "right-password", address="10.0.0.7").status_code == 302


def test_axes_reset_command_lifts_the_lock(client, staff, limit):
    fail(client, limit)
    assert login(client, "editor", "right-password").status_code == 429
    call_command("axes_reset_username", "editor")
    call_command("axes_reset_ip", "10.0.0.1")
    assert login(client, "editor", "right-password").status_code == 302


def test_a_superuser_lifts_the_lock_in_the_admin(client, staff, limit, django_user_model):
    locked_client = client
    fail(locked_client, limit)
    attempts = AccessAttempt.objects.all()
    assert attempts.exists()

    from django.test import Client

    admin_client = Client()
    admin_client.force_login(django_user_model.objects.create_superuser("root", "r@example.org", "pw"))
    changelist = admin_client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and "editor" in changelist.content.decode()
    response = admin_client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [a.pk for a in attempts], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert login(locked_client, "editor", "right-password").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, staff, limit, settings):
    fail(client, limit)
    assert login(client, "editor", "right-password").status_code == 429
    # Pretend the cool-off has passed (the failure count resets with a success).
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )
    assert login(client, "editor", "right-password").status_code == 302


def test_behind_the_proxy_the_forwarded_address_counts(client, staff, limit, settings):
    settings.BEHIND_PROXY = True
    proxy = "172.18.0.5"
    for number in range(limit):
        login(client, f"guess{number}", "x", proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert login(client, "editor", "right-password", proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    # Another client behind the same proxy is not locked out with them.
    assert login(client, "editor", "right-password", proxy, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 302
