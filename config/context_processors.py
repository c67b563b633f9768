"""What every public page's frame needs: the lists to link to, and where the language switch returns."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

LISTS = (
    ("programs", "programs:program_list", _("Programs")),
    ("funds", "programs:fund_list", _("Funds")),
    ("counties", "counties:county_list", _("Counties")),
    ("envoys", "envoys:envoy_list", _("Envoys")),
    ("outcomes", "programs:outcome_list", _("Figures")),
    ("sources", "programs:source_list", _("Sources")),
)


def site(request):
    path = request.path
    return {
        "nav_lists": [
            {"key": key, "url": reverse(name), "label": label, "current": path.startswith(reverse(name))}
            for key, name, label in LISTS
        ],
        "return_to": request.get_full_path(),
    }
