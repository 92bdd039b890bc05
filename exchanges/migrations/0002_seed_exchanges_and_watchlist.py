"""Seed the 14 supported exchanges (published spot taker fees, base tier) and a starter watchlist."""

from decimal import Decimal

from django.db import migrations

EXCHANGES = [
    ("binance", "Binance", "10"),
    ("okx", "OKX", "10"),
    ("bybit", "Bybit", "10"),
    ("coinbase", "Coinbase", "60"),
    ("kraken", "Kraken", "40"),
    ("kucoin", "KuCoin", "10"),
    ("gate", "Gate", "20"),
    ("htx", "HTX", "20"),
    ("bitget", "Bitget", "10"),
    ("mexc", "MEXC", "5"),
    ("bitfinex", "Bitfinex", "20"),
    ("bitstamp", "Bitstamp", "40"),
    ("gemini", "Gemini", "40"),
    ("cryptocom", "Crypto.com", "7.5"),
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
