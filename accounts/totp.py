"""Authenticator (TOTP) devices: enrolling one, and its otpauth:// URI as a QR code for the
terminal or a page. django-otp keeps the devices and checks the codes."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "authenticator"


def has_authenticator(user: AbstractBaseUser) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrol(user: AbstractBaseUser, *, confirmed: bool, replace: bool = False) -> TOTPDevice:
    """A new TOTP device for `user`. `replace` deletes the user's other TOTP devices (a lost
    phone); an unconfirmed device counts only once a code from it is checked."""
    if replace:
        TOTPDevice.objects.filter(user=user).delete()
    else:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=confirmed)
    return device


def qr_text(uri: str) -> str:
    """The URI as a QR code of block characters, for a terminal."""
    code = qrcode.QRCode(border=2)
    code.add_data(uri)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, for a page."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return str(image.to_string(encoding="unicode"))
