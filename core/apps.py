"""The framework's app: the site-wide signal wiring, connected once when Django starts.

- ``migrate`` also creates the database cache table and starts a new data generation, so every way of
  setting up a database (make run, docker compose's migrate service, the benchmarks, the tests) gets it;
- the admin carries the site's name (core.admin_tools.brand_admin_site), and the third-party apps' English
  texts that no catalogue can translate are replaced (core.vendor.install);
- every write to a registered record (``core.registry``) keeps the search columns current and starts a new
  data generation for the count cache once its transaction commits.
"""

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(sender, using, **kwargs):
    """Idempotent: ``createcachetable`` skips a table that exists. Then a new data generation: a database
    just made (or flushed) never shares a generation with another one, so counts and pages kept in
    SHARED_CACHE_DIR for another database are never taken for its own."""
    call_command("createcachetable", database=using, verbosity=0)
    if using == "default":
        from core.listing import new_data_generation

        new_data_generation()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import vendor
        from core.admin_tools import brand_admin_site
        from core.listing import connect_facet_cache
        from core.search import connect_search_text
        from core.sqlite import connect as connect_sqlite

        brand_admin_site()
        vendor.install()
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="core.create_cache_table")
        connect_search_text()
        connect_facet_cache()
        connect_sqlite()  # each SQLite connection connects its search tables first (core/sqlite.py)
