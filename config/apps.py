"""The project's own app: nothing but a hook on ``migrate``."""

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(sender, using, **kwargs):
    """``migrate`` also creates the database cache table (settings.CACHES), so every way of setting up a
    database (make run, docker compose's migrate service, the benchmarks, the tests) gets it. Idempotent."""
    call_command("createcachetable", database=using, verbosity=0)


class SiteConfig(AppConfig):
    name = "config"
    verbose_name = "Site"

    def ready(self):
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="config.create_cache_table")
