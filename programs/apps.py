from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "programs"
    verbose_name = _("programs")

    def ready(self):
        from core.registry import RecordType, register

        register(
            RecordType("sources", "programs.Source", "programs.resources.SourceResource", order=10,
                       seed_loader="programs.seeding.load_sources",
                       list_url="programs:source_list", nav=60, label=_("Sources")),
            RecordType("funds", "programs.Fund", "programs.resources.FundResource", order=50,
                       seed_loader="programs.seeding.load_funds", self_reference="successor",
                       list_url="programs:fund_list", nav=20, label=_("Funds")),
            RecordType("organizations", "programs.Organization", "programs.resources.OrganizationResource",
                       order=60, seed_loader="programs.seeding.load_organizations", self_reference="parent"),
            RecordType("programs", "programs.Program", "programs.resources.ProgramResource", order=70,
                       seed_loader="programs.seeding.load_programs", self_reference="parent",
                       list_url="programs:program_list", nav=10, label=_("Programs")),
            RecordType("indicators", "programs.Indicator", "programs.resources.IndicatorResource", order=75,
                       seed_loader="programs.seeding.load_indicators",
                       list_url="programs:indicator_list", nav=55, label=_("Indicators")),
            RecordType("outcomes", "programs.Outcome", "programs.resources.OutcomeResource", order=100,
                       seed_loader="programs.seeding.load_outcomes",
                       list_url="programs:outcome_list", nav=50, label=_("Figures")),
        )
