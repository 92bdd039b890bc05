"""Enrolling an authenticator from the browser, for staff: scan the QR code, type one code
to prove it works. A staff member who already has one must prove it (a verified session)
before replacing it, so a stolen password alone cannot swap the second factor; a lost
authenticator is replaced by an operator (`manage.py enrol_totp USER --replace`)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.totp import DEVICE_NAME, has_authenticator, qr_svg


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\d{6,8}$",
        max_length=8,
        error_messages={"invalid": "Type the 6 digits your authenticator app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_staff:
        refused = "Only staff use the admin's second factor."
        return render(request, "accounts/enrol.html", {"refused": refused}, status=403)
    if has_authenticator(user) and not user.is_verified():  # type: ignore[attr-defined]  # django-otp adds it
        refused = (
            "You already have an authenticator. To replace it, log in to admin with a code from it first; "
            "if it is lost, ask an operator to run manage.py enrol_totp "
            f"{user.get_username()} --replace."
        )
        return render(request, "accounts/enrol.html", {"refused": refused}, status=403)

    pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if pending.verify_token(form.cleaned_data["code"]):
            TOTPDevice.objects.filter(user=user).exclude(pk=pending.pk).delete()
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            otp_login(request, pending)
            messages.success(request, "Authenticator enrolled: admin now asks for its code at each login.")
            return redirect("admin:index")
        form.add_error("code", "That code does not match: check the app's clock and type the current code.")
    context = {"form": form, "qr": qr_svg(pending.config_url), "uri": pending.config_url}
    return render(request, "accounts/enrol.html", context)
