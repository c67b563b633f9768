from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "programs"
    verbose_name = _("programs")

    def ready(self):
        from config.listing import connect_facet_cache
        from config.search import connect_search_text

        connect_search_text()
        connect_facet_cache()
