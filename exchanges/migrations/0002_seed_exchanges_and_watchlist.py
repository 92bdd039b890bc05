"""Seed the 14 supported exchanges (at the default taker fee of DESIGN.md (10 bps); sync_fees or an admin sets real ones) and a starter watchlist."""

from decimal import Decimal

from django.db import migrations

EXCHANGES = [
    ("binance", "Binance", "10"),
    ("okx", "OKX", "10"),
    ("bybit", "Bybit", "10"),
    ("coinbase", "Coinbase", "10"),
    ("kraken", "Kraken", "10"),
    ("kucoin", "KuCoin", "10"),
    ("gate", "Gate", "10"),
    ("htx", "HTX", "10"),
    ("bitget", "Bitget", "10"),
    ("mexc", "MEXC", "10"),
    ("bitfinex", "Bitfinex", "10"),
    ("bitstamp", "Bitstamp", "10"),
    ("gemini", "Gemini", "10"),
    ("cryptocom", "Crypto.com", "10"),
]

WATCHLIST = [
    "BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "BNB-USDT", "DOGE-USDT", "ADA-USDT",
    "LTC-USDT", "LINK-USDT", "AVAX-USDT", "ETH-BTC", "SOL-BTC", "XRP-BTC", "SOL-ETH", "LINK-ETH",
]


def seed(apps, schema_editor):
    Exchange = apps.get_model("exchanges", "Exchange")
    WatchedSymbol = apps.get_model("exchanges", "WatchedSymbol")
    for exchange_id, name, fee in EXCHANGES:
        Exchange.objects.get_or_create(id=exchange_id, defaults={"name": name, "taker_fee_bps": Decimal(fee)})
    for symbol in WATCHLIST:
        WatchedSymbol.objects.get_or_create(symbol=symbol)


class Migration(migrations.Migration):
    dependencies = [("exchanges", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
