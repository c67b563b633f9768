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
    urls = [(key, reverse(name), label) for key, name, label in LISTS]
    return {
        "nav_lists": [
            {"key": key, "url": url, "label": label, "current": path.startswith(url)} for key, url, label in urls
        ],
        "return_to": request.get_full_path(),
    }
