"""Subscribers' filters become one mapping of the shared filter language (arbitrage.filters):
min_net_edge_pct, symbols, exchanges, type_filter and only_ok are folded into `filters`.
Deliveries name their episode `episode`."""

from django.db import migrations, models

import notifications.models


def fold_filters(apps, schema_editor):
    Subscriber = apps.get_model("notifications", "Subscriber")
    for sub in Subscriber.objects.all():
        words = {}
        if sub.symbols:
            words["symbol"] = ",".join(sub.symbols)
        if sub.exchanges:
            words["exchange"] = ",".join(sub.exchanges)
        if sub.type_filter != "all":
            words["type"] = sub.type_filter
        if sub.min_net_edge_pct:
            words["min_net_edge"] = float(sub.min_net_edge_pct)
        if sub.only_ok:
            words["risk"] = "ok"
        sub.filters = words
        sub.save(update_fields=["filters"])


def unfold_filters(apps, schema_editor):
    Subscriber = apps.get_model("notifications", "Subscriber")
    for sub in Subscriber.objects.all():
        words = sub.filters or {}
        sub.symbols = [w for w in str(words.get("symbol", "")).split(",") if w]
        sub.exchanges = [w for w in str(words.get("exchange", "")).split(",") if w]
        sub.type_filter = words.get("type") or "all"
        sub.min_net_edge_pct = words.get("min_net_edge") or 0
        sub.only_ok = words.get("risk") == "ok"
        sub.save(update_fields=["symbols", "exchanges", "type_filter", "min_net_edge_pct", "only_ok"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("arbitrage", "0002_rename_opportunity_episode"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="delivery", name="notificatio_subscri_498817_idx"),
        migrations.RemoveConstraint(model_name="delivery", name="uniq_delivery_per_edge"),
        migrations.RenameField(model_name="delivery", old_name="opportunity", new_name="episode"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["subscriber", "episode"], name="notificatio_subscri_6b450a_idx"),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                fields=("subscriber", "episode", "net_edge_pct"), name="uniq_delivery_per_edge"
            ),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="filters",
            field=models.JSONField(
                blank=True,
                default=notifications.models.default_filters,
                help_text=(
                    "The shared filter language, e.g. {\"symbol\": \"BTC,ETH-USDT\", \"exchange\": \"binance,okx\", "
                    "\"min_net_edge\": 0.2, \"risk\": \"ok\"}; {} = everything."
                ),
                validators=[notifications.models.validate_filters],
            ),
        ),
        migrations.RunPython(fold_filters, unfold_filters),
        migrations.RemoveField(model_name="subscriber", name="min_net_edge_pct"),
        migrations.RemoveField(model_name="subscriber", name="symbols"),
        migrations.RemoveField(model_name="subscriber", name="exchanges"),
        migrations.RemoveField(model_name="subscriber", name="type_filter"),
        migrations.RemoveField(model_name="subscriber", name="only_ok"),
    ]
