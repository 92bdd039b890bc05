"""`manage.py rotate_credentials_key`: re-encrypt every stored exchange credential under the
first key of FIELD_ENCRYPTION_KEY. Rotation: set FIELD_ENCRYPTION_KEY=NEW,OLD, run this,
then set FIELD_ENCRYPTION_KEY=NEW. All rows change in one transaction, or none."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from cli.commands import OneLineErrorCommand
from exchanges.credentials import CredentialKeyError, cipher
from exchanges.models import ExchangeCredential


class Command(OneLineErrorCommand):
    help = "Re-encrypt every exchange credential under the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cipher()
            with transaction.atomic():
                rows = list(ExchangeCredential.objects.select_for_update().order_by("exchange_id"))
                for row in rows:
                    row.rotate()
                    row.save(update_fields=["api_key_encrypted", "secret_encrypted", "password_encrypted"])
        except CredentialKeyError as exc:
            raise CommandError(str(exc)) from None
        names = ", ".join(row.exchange_id for row in rows) or "none stored"
        self.stdout.write(f"re-encrypted the credentials of {len(rows)} exchange(s) under the first key: {names}\n")
        if rows:
            self.stdout.write("Now drop the old key from FIELD_ENCRYPTION_KEY (keep only the first).\n")
