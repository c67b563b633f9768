"""Outcome.fund: the plain index on fund_id becomes a partial one, of the outcomes that name a fund.

The field's own index is dropped by SQL rather than by AlterField: on SQLite AlterField rebuilds the whole
outcome table (500,000 rows at scale), and the rebuild would drop the table's full-text triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_INDEX = "programs_outcome_fund_id_1eac4110"  # Django's name for the field's index, on both databases


class Migration(migrations.Migration):

    dependencies = [
        ("counties", "0006_county_coordinates"),
        ("programs", "0011_outcome_unit_value_and_indicator_dates_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outcome",
                    name="fund",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT, related_name="outcomes",
                                            to="programs.fund", verbose_name="fund"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{OLD_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{OLD_INDEX}" ON "programs_outcome" ("fund_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="outcome",
            index=models.Index(condition=models.Q(("fund__isnull", False)), fields=["fund"], name="outcome_fund_idx"),
        ),
    ]
