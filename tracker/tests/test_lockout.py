"""Login lockout (django-axes, core/lockout.py): AXES_FAILURE_LIMIT wrong passwords lock the account
name from that client address only, and AXES_ADDRESS_FAILURE_LIMIT wrong passwords lock the address
whatever the names; the page says which; staff lift it in the admin or with a command, and it lifts by
itself after the cool-off."""

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
def address_limit(settings):
    return settings.AXES_ADDRESS_FAILURE_LIMIT


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("editor", password="right-password", is_staff=True)


def login(client, username, password, address="10.0.0.1", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def fail(client, times, username="editor", address="10.0.0.1"):
    for _ in range(times):
        response = login(client, username, "wrong-password", address)
    return response


def test_default_limits_are_five_per_account_and_address_and_twenty_per_address(limit, address_limit):
    assert (limit, address_limit) == (5, 20)


def test_wrong_passwords_below_the_limit_still_allow_login(client, staff, limit):
    assert fail(client, limit - 1).status_code == 200  # the login form again, with its error
    response = login(client, "editor", "right-password")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_account_is_locked_from_that_address_after_the_limit_even_with_the_right_password(client, staff, limit):
    response = fail(client, limit)
    assert response.status_code == 429
    page = response.content.decode()
    assert "锁定" in page and "此地址" in page and str(limit) in page
    again = login(client, "editor", "right-password")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lock_on_admin_from_one_address_does_not_stop_a_login_from_another(client, django_user_model, limit):
    """Guessing the real admin's password from one address must not lock the admin out everywhere."""
    django_user_model.objects.create_superuser("admin", "admin@example.org", "admin-password")
    assert fail(client, limit, username="admin", address="10.0.0.66").status_code == 429
    assert login(client, "admin", "admin-password", address="10.0.0.66").status_code == 429
    response = login(client, "admin", "admin-password", address="10.0.0.7")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"]


def test_an_address_is_locked_after_its_own_higher_limit_whatever_the_names(client, staff, limit, address_limit):
    assert address_limit > limit
    address = "10.0.0.66"
    for number in range(address_limit - 1):
        assert login(client, f"guess{number}", "wrong-password", address=address).status_code == 200
    # Below the address limit, an account with no failures of its own still logs in from there.
    assert login(client, "editor", "right-password", address=address).status_code == 302
    client.logout()
    # Its success does not reset the address's count: one more wrong password locks the address.
    locked = login(client, "guess-last", "wrong-password", address=address)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "此地址" in page and str(address_limit) in page
    assert login(client, "editor", "right-password", address=address).status_code == 429
    # The account is fine from elsewhere, and staff can lift the address's lock.
    assert login(client, "editor", "right-password", address="10.0.0.7").status_code == 302
    client.logout()
    call_command("axes_reset_ip", address)
    assert login(client, "editor", "right-password", address=address).status_code == 302


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


def test_behind_the_proxy_the_forwarded_address_counts(client, staff, address_limit, settings):
    settings.BEHIND_PROXY = True
    proxy = "172.18.0.5"
    for number in range(address_limit):
        login(client, f"guess{number}", "x", proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert login(client, "editor", "right-password", proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    # Another client behind the same proxy is not locked out with them.
    assert login(client, "editor", "right-password", proxy, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 302
