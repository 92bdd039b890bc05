"""Seed the supported exchanges (exchanges.registry) at the default taker fee of the design
(10 bps; sync_fees or an admin sets real ones) and a starter watchlist."""

from decimal import Decimal

from django.db import migrations

from exchanges import registry

DEFAULT_TAKER_FEE_BPS = Decimal("10")

WATCHLIST = [
    "BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "BNB-USDT", "DOGE-USDT", "ADA-USDT",
    "LTC-USDT", "LINK-USDT", "AVAX-USDT", "ETH-BTC", "SOL-BTC", "XRP-BTC", "SOL-ETH", "LINK-ETH",
]


def seed(apps, schema_editor):
    Exchange = apps.get_model("exchanges", "Exchange")
    WatchedSymbol = apps.get_model("exchanges", "WatchedSymbol")
    for info in registry.EXCHANGES:
        Exchange.objects.get_or_create(id=info.id, defaults={"name": info.name, "taker_fee_bps": DEFAULT_TAKER_FEE_BPS})
    for symbol in WATCHLIST:
        WatchedSymbol.objects.get_or_create(symbol=symbol)


class Migration(migrations.Migration):
    dependencies = [("exchanges", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
