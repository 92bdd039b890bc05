"""Admin asks for a TOTP code besides the password whenever ADMIN_REQUIRE_OTP is on (DEBUG
off); `enrol_totp` and the browser enrolment give staff an authenticator any TOTP app
accepts; the embedded demo's settings turn the second factor off."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.totp import code
from tests.config.test_settings_env import settings_under

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def otp_on(settings):  # type: ignore[no-untyped-def]
    settings.ADMIN_REQUIRE_OTP = True


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)


def enrol(username: str, *flags: str) -> str:
    out = io.StringIO()
    call_command("enrol_totp", username, *flags, stdout=out)
    match = re.search(r"otpauth://\S+", out.getvalue())
    assert match, out.getvalue()
    return match.group(0)


def admin_login(client: Client, password: str = PASSWORD, token: str = "") -> int:
    client.post("/admin/login/?next=/admin/", {"username": "boss", "password": password, "otp_token": token})
    return int(client.get("/admin/").status_code)


@pytest.mark.usefixtures("otp_on")
def test_admin_refuses_a_password_without_a_code_and_accepts_a_valid_one(staff) -> None:  # type: ignore[no-untyped-def]
    uri = enrol("boss")
    client = Client()
    assert admin_login(client) == 302, "password alone: still the login page"
    assert admin_login(client, token=code(uri)) == 200
    # A wrong code (django-otp then slows further tries on the device down).
    wrong = "000000" if code(uri) != "000000" else "111111"
    assert admin_login(Client(), token=wrong) == 302


@pytest.mark.usefixtures("otp_on")
def test_a_session_logged_in_without_a_code_is_not_admin(staff) -> None:  # type: ignore[no-untyped-def]
    enrol("boss")
    client = Client()
    assert client.post("/accounts/login/", {"username": "boss", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200, "the dashboard needs the password only"
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/exchanges/exchange/").status_code == 302


def test_with_the_second_factor_off_the_password_is_enough(staff, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ADMIN_REQUIRE_OTP = False
    assert admin_login(Client()) == 200


def test_the_demo_settings_turn_the_second_factor_off_and_production_on() -> None:
    snippet_env = {"SECRET_KEY": "x" * 10 + "-long-enough-and-varied-0123456789-abcdefghijklmnop"}
    assert settings_under({**snippet_env, "DEBUG": "1"})["admin_require_otp"] is False
    assert settings_under({**snippet_env, "DEBUG": "0"})["admin_require_otp"] is True


def test_enrol_totp_refuses_to_replace_silently_and_replaces_on_request(staff) -> None:  # type: ignore[no-untyped-def]
    first = enrol("boss")
    with pytest.raises(CommandError, match="already has an authenticator; run with --replace"):
        call_command("enrol_totp", "boss", stdout=io.StringIO())
    second = enrol("boss", "--replace")
    assert first != second
    assert TOTPDevice.objects.filter(user=staff).count() == 1
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("enrol_totp", "nobody", stdout=io.StringIO())


def test_enrol_totp_prints_a_qr_code_of_the_uri(staff) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("enrol_totp", "boss", stdout=out)
    qr_lines = [line for line in out.getvalue().splitlines() if "█" in line or "▀" in line or "▄" in line]
    assert len(qr_lines) > 10, "a QR code of block characters"


@pytest.mark.usefixtures("otp_on")
def test_staff_enrol_from_the_browser_with_one_code(staff) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post("/accounts/login/", {"username": "boss", "password": PASSWORD})
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200 and b"<svg" in page.content
    uri = re.search(r"otpauth://[^\s<\"]+", page.content.decode()).group(0).replace("&amp;", "&")  # type: ignore[union-attr]
    wrong = client.post("/accounts/2fa/", {"code": "12345x"})
    assert b"Type the 6 digits" in wrong.content
    done = client.post("/accounts/2fa/", {"code": code(uri)})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200, "enrolling verified this session"

    # Someone with the password alone cannot swap the authenticator afterwards.
    intruder = Client()
    intruder.post("/accounts/login/", {"username": "boss", "password": PASSWORD})
    refused = intruder.get("/accounts/2fa/")
    assert refused.status_code == 403 and b"--replace" in refused.content
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).count() == 1


def test_non_staff_cannot_enrol(db) -> None:  # type: ignore[no-untyped-def]
    get_user_model().objects.create_user("trader", password=PASSWORD)
    client = Client()
    client.post("/accounts/login/", {"username": "trader", "password": PASSWORD})
    assert client.get("/accounts/2fa/").status_code == 403


@pytest.mark.usefixtures("otp_on")
def test_a_recovery_code_logs_in_once_when_the_phone_is_lost(staff) -> None:  # type: ignore[no-untyped-def]
    enrol("boss")
    call_command("addstatictoken", "boss", "-t", "recover9x", stdout=io.StringIO())
    assert admin_login(Client(), token="recover9x") == 200
    assert admin_login(Client(), token="recover9x") == 302, "each recovery code works once"
