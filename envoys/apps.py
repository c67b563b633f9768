from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnvoysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "envoys"
    verbose_name = _("envoys")
