"""The audit's model says what it is: an opportunity episode (same rows, renamed table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("arbitrage", "0001_initial"),
        # The Telegram deliveries point at the episodes: their app knows the old name first.
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel("Opportunity", "Episode"),
        migrations.AlterModelOptions(
            name="episode",
            options={"ordering": ["-last_seen"], "verbose_name": "opportunity episode"},
        ),
    ]
