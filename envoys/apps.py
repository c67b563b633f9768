from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnvoysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "envoys"
    verbose_name = _("envoys")

    def ready(self):
        from core.registry import RecordType, register

        register(
            RecordType("envoys", "envoys.Envoy", "envoys.resources.EnvoyResource", order=80,
                       seed_loader="envoys.seeding.load_envoys",
                       list_url="envoys:envoy_list", nav=40, label=_("Envoys")),
            RecordType("postings", "envoys.Posting", "envoys.resources.PostingResource", order=90,
                       seed_loader="envoys.seeding.load_postings"),
        )
