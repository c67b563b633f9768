from django.apps import AppConfig


class TrackerConfig(AppConfig):
    """The site as a whole: home page, health check, backups, seeds, demo data, article intake."""

    name = "tracker"
    verbose_name = "Tracker"
