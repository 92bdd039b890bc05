"""The admin site: Django's, asking for a TOTP code as well as the password whenever
`ADMIN_REQUIRE_OTP` is on (DEBUG off). A staff member whose session was not verified by
their authenticator is treated as not staff; one with no authenticator yet is sent to
enrol one (/accounts/2fa/)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


def otp_required() -> bool:
    return bool(settings.ADMIN_REQUIRE_OTP)


class SecondFactorLoginForm(OTPAdminAuthenticationForm):
    """Username, password and code in one go: the device is the one the code is for (the
    authenticator for digits, a recovery code otherwise), so nobody picks from a list."""

    def _chosen_device(self, user: Any) -> Device | None:
        chosen: Device | None = super()._chosen_device(user)
        if chosen is not None:
            return chosen
        token = str(self.cleaned_data.get("otp_token") or "").strip()
        kind = TOTPDevice if token.isdigit() else StaticDevice
        return next((d for d in devices_for_user(user, confirmed=True) if isinstance(d, kind)), None)


class SecureAdminSite(admin.AdminSite):
    site_header = "Arbitrage scanner administration"
    site_title = "Arbitrage scanner admin"
    # The lists (episodes above all) need the width; the home page lists every model.
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not otp_required() or bool(request.user.is_verified())  # type: ignore[union-attr]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Chosen per request, so a test (or the demo) can switch the requirement.
        if otp_required():
            self.login_form = SecondFactorLoginForm
            self.login_template = "accounts/admin_login.html"
        else:
            self.login_form = AdminAuthenticationForm
            self.login_template = None
        return super().login(request, extra_context)
