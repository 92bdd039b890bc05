"""Exchange API credentials, encrypted at rest with cryptography's MultiFernet.

The keys come from `FIELD_ENCRYPTION_KEY` (settings): comma-separated Fernet keys, newest
first. Everything is encrypted under the first; any of them decrypts, so a new key goes in
front of the old one, `manage.py rotate_credentials_key` re-encrypts every row under it,
and then the old key can be dropped. Plaintext exists only in memory, on its way to ccxt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "FIELD_ENCRYPTION_KEY"
HOW_TO_GENERATE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class CredentialKeyError(ImproperlyConfigured):
    """The encryption key is missing, malformed, or not the one the credentials were
    stored under. The message names the variable and says what to do."""


def key_problem(raw: str) -> str | None:
    """Why `raw` (the variable's value) cannot be used, or None if it can. Empty is a
    problem only once credentials are stored or read."""
    for index, key in enumerate(k.strip() for k in raw.split(",")):
        try:
            Fernet(key)
        except ValueError:
            return (
                f"{VARIABLE} key #{index + 1} is not a Fernet key (32 bytes, url-safe base64: 44 characters); "
                f"generate one with {HOW_TO_GENERATE}"
            )
    return None


def cipher() -> MultiFernet:
    raw = str(settings.FIELD_ENCRYPTION_KEY or "").strip()
    if not raw:
        raise CredentialKeyError(
            f"{VARIABLE} is not set: exchange credentials are encrypted with it. "
            f"Generate one with {HOW_TO_GENERATE} and set it in the environment."
        )
    problem = key_problem(raw)
    if problem:
        raise CredentialKeyError(problem)
    return MultiFernet([Fernet(key.strip()) for key in raw.split(",")])


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str, what: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialKeyError(
            f"{VARIABLE} cannot decrypt the stored {what}: it is not the key they were stored under. "
            f"Put that key back after the new one ({VARIABLE}=NEW,OLD) and run manage.py rotate_credentials_key, "
            "or enter the credentials again in admin."
        ) from None


def rotate(token: str, what: str) -> str:
    """`token` re-encrypted under the first key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialKeyError(
            f"None of the keys in {VARIABLE} decrypts the stored {what}: add the key they were stored under "
            f"after the new one ({VARIABLE}=NEW,OLD) and run the rotation again."
        ) from None


@dataclass(frozen=True, slots=True, repr=False)
class ApiCredentials:
    """Plaintext, in memory only. Its repr shows nothing secret (it may end up in a log)."""

    exchange: str
    api_key: str
    secret: str
    password: str = ""  # the passphrase some exchanges add (okx, kucoin...)

    def __repr__(self) -> str:
        return f"ApiCredentials({self.exchange!r}, api_key=***, secret=***)"

    def ccxt_fields(self) -> dict[str, str]:
        fields = {"apiKey": self.api_key, "secret": self.secret}
        if self.password:
            fields["password"] = self.password
        return fields


def stored_credentials(exchanges: Iterable[str] | None = None) -> dict[str, ApiCredentials]:
    """The decrypted credentials of the given exchanges (all when None). Raises
    CredentialKeyError when some are stored but the key cannot decrypt them."""
    from exchanges.models import ExchangeCredential

    rows = ExchangeCredential.objects.select_related("exchange")
    if exchanges is not None:
        rows = rows.filter(exchange_id__in=list(exchanges))
    return {row.exchange_id: row.decrypted() for row in rows}
