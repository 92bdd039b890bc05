"""`manage.py enrol_totp USER [--replace]`: give USER an authenticator for the admin's
second factor. Prints the otpauth:// URI and the same as a QR code to scan with any TOTP
app (Google Authenticator, Aegis, 1Password...). `--replace` is the lost-phone path: the
old authenticators stop working at once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from accounts.totp import enrol, has_authenticator, qr_text
from cli.commands import OneLineErrorCommand


class Command(OneLineErrorCommand):
    help = "Enrol an authenticator app (TOTP) for a user's admin second factor; prints a QR code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--replace", action="store_true", help="delete the user's authenticators first")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username[:64]!r}: create it first (manage.py createsuperuser).")
        if has_authenticator(user) and not options["replace"]:
            raise CommandError(
                f"{username} already has an authenticator; "
                "run with --replace if it is lost (the old one stops working)."
            )
        device = enrol(user, confirmed=True, replace=options["replace"])
        uri = device.config_url
        self.stdout.write(qr_text(uri))
        self.stdout.write(f"otpauth URI (for apps that cannot scan): {uri}\n")
        self.stdout.write(f"{username} now needs a code from this authenticator to log in to admin.\n")
        if not user.is_staff:
            self.stderr.write(f"note: {username} is not staff, so admin stays closed to them anyway.\n")
