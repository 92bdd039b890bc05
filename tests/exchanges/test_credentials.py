"""Exchange API credentials: encrypted at rest under FIELD_ENCRYPTION_KEY, rotated to a new
key by a command, masked in admin, never in an API answer or a log line, used by sync_fees
(the ccxt config file needs no keys), and a missing or wrong key is an error naming the
variable."""

from __future__ import annotations

import copy
import logging
from io import StringIO
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from exchanges.credentials import CredentialKeyError
from exchanges.models import Exchange, ExchangeCredential
from tests.api.endpoints import READ_ENDPOINTS
from tests.exchanges.test_sync_fees import BINANCE, OKX
from tests.fakes.rest_fees import BinanceFees, OkxFees, serving

pytestmark = pytest.mark.django_db

KEY_1, KEY_2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
MARKER_KEY = "MARKER-apikey-7c1f2e9a4b"
MARKER_SECRET = "MARKER-secret-d83b0c5e71"
MARKER_PASSPHRASE = "MARKER-passphrase-19af"


def store(exchange: str, api_key: str = MARKER_KEY, secret: str = MARKER_SECRET, password: str = "") -> None:
    row = ExchangeCredential(exchange=Exchange.objects.get(pk=exchange))
    row.store(api_key, secret, password)
    row.save()


def raw_columns() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM exchanges_exchangecredential")
        return repr(cursor.fetchall())


def test_stored_credentials_read_back_and_are_not_in_the_table_in_plaintext(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    store("okx", password=MARKER_PASSPHRASE)
    plain = ExchangeCredential.objects.get(pk="okx").decrypted()
    assert (plain.api_key, plain.secret, plain.password) == (MARKER_KEY, MARKER_SECRET, MARKER_PASSPHRASE)
    assert "MARKER" not in raw_columns()
    assert "MARKER" not in repr(plain) and "MARKER" not in str(ExchangeCredential.objects.get(pk="okx"))


def test_rotation_moves_every_row_to_the_new_key(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    store("binance")
    store("okx", password=MARKER_PASSPHRASE)
    before = raw_columns()

    settings.FIELD_ENCRYPTION_KEY = f"{KEY_2},{KEY_1}"
    out = StringIO()
    call_command("rotate_credentials_key", stdout=out)
    assert "re-encrypted the credentials of 2 exchange(s)" in out.getvalue()
    assert raw_columns() != before

    settings.FIELD_ENCRYPTION_KEY = KEY_2  # the old key is gone: everything still reads
    assert ExchangeCredential.objects.get(pk="okx").decrypted().password == MARKER_PASSPHRASE
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    with pytest.raises(CredentialKeyError, match="FIELD_ENCRYPTION_KEY cannot decrypt the stored binance credentials"):
        ExchangeCredential.objects.get(pk="binance").decrypted()


def test_rotation_without_the_old_key_says_what_to_do_and_changes_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    store("binance")
    before = raw_columns()
    settings.FIELD_ENCRYPTION_KEY = KEY_2
    with pytest.raises(CommandError, match=r"None of the keys in FIELD_ENCRYPTION_KEY decrypts .*NEW,OLD"):
        call_command("rotate_credentials_key", stdout=StringIO())
    assert raw_columns() == before


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "FIELD_ENCRYPTION_KEY is not set"),
        ("not-a-key", "FIELD_ENCRYPTION_KEY key #1 is not a Fernet key"),
        (KEY_2, "FIELD_ENCRYPTION_KEY cannot decrypt the stored binance credentials"),
    ],
)
def test_sync_fees_refuses_to_start_with_a_missing_or_wrong_key(settings, key: str, message: str) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    store("binance")
    settings.FIELD_ENCRYPTION_KEY = key
    with pytest.raises(CommandError, match=message):
        call_command("sync_fees", "--exchanges", "binance", stdout=StringIO())


def test_admin_masks_the_key_and_never_shows_a_secret(admin_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    added = admin_client.post(
        "/admin/exchanges/exchangecredential/add/",
        {"exchange": "okx", "api_key": MARKER_KEY, "secret": MARKER_SECRET, "password": MARKER_PASSPHRASE},
    )
    assert added.status_code == 302, added.content[:2000]
    listing = admin_client.get("/admin/exchanges/exchangecredential/").content.decode()
    change = admin_client.get("/admin/exchanges/exchangecredential/okx/change/").content.decode()
    assert "••••" + MARKER_KEY[-4:] in listing
    for page in (listing, change):
        assert "MARKER" not in page

    # A change that leaves the secret blank keeps it; a new key replaces the old one.
    admin_client.post(
        "/admin/exchanges/exchangecredential/okx/change/",
        {"exchange": "okx", "api_key": "new-key-0000", "secret": "", "password": ""},
    )
    plain = ExchangeCredential.objects.get(pk="okx").decrypted()
    assert (plain.api_key, plain.secret, plain.password) == ("new-key-0000", MARKER_SECRET, MARKER_PASSPHRASE)


def test_admin_without_a_key_says_which_variable_to_set(admin_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = ""
    page = admin_client.post(
        "/admin/exchanges/exchangecredential/add/", {"exchange": "okx", "api_key": "k", "secret": "s"}
    )
    assert page.status_code == 200
    assert "FIELD_ENCRYPTION_KEY is not set" in page.content.decode()
    assert not ExchangeCredential.objects.exists()


def test_sync_fees_signs_with_the_stored_keys_and_no_log_or_api_answer_shows_them(
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    admin_client: Client,
) -> None:
    settings.FIELD_ENCRYPTION_KEY = KEY_1
    store("binance")
    store("okx", password=MARKER_PASSPHRASE)
    binance, okx = BinanceFees(copy.deepcopy(BINANCE)), OkxFees(copy.deepcopy(OKX))
    caplog.set_level(logging.DEBUG)
    with serving(binance, okx) as config:
        for entry in config.values():  # the file holds endpoints only
            for field in ("apiKey", "secret", "password"):
                entry.pop(field, None)
        config_file = tmp_path / "ccxt.json"
        config_file.write_bytes(orjson.dumps(config))
        out = StringIO()
        call_command("sync_fees", "--exchanges", "binance,okx", "--ccxt-config", str(config_file), stdout=out)

    assert any(h.get("x-mbx-apikey") == MARKER_KEY for h in binance.headers_seen), "binance saw the stored key"
    assert any(h.get("ok-access-passphrase") == MARKER_PASSPHRASE for h in okx.headers_seen)
    assert Exchange.objects.get(pk="okx").taker_fee_bps == 8

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    captured = capsys.readouterr()
    everything = logged + out.getvalue() + captured.out + captured.err
    at = everything.find("MARKER")
    assert at < 0, everything[max(0, at - 300) : at + 60]

    for path in API_READS:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert "MARKER" not in response.content.decode(), path


API_READS = [
    *READ_ENDPOINTS,
    "/api/v1/exchanges/okx/",
    "/api/docs/",
    "/admin/exchanges/exchangecredential/",
    "/admin/exchanges/exchangecredential/okx/change/",
    "/admin/exchanges/exchangecredential/okx/history/",
]
