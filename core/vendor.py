"""What the admin's third-party apps show staff, in the site's languages.

Django, django-import-export, django-simple-history and django-axes mark their texts for translation, but
their Simplified Chinese catalogues miss some (axes ships none). The project's ``.po`` comes first in
``LOCALE_PATHS``, so it translates them; :data:`MSGIDS` marks them here so that ``makemessages`` keeps them
in it. A few texts are not marked upstream at all, and are replaced where they are made (:func:`install`,
called by ``CoreConfig.ready()``):

- axes' app has no verbose name ("Axes"): :class:`AxesConfig`, named in ``INSTALLED_APPS``, gives it one;
- axes' rows describe themselves in English f-strings (``Attempted Access: …``) and its attempts list's
  status column has no label: they get translated ones;
- Django stores permissions with English names (``Can add program``), and django-simple-history names its
  tables in English: a permission is shown built from its action and the model's verbose name
  (``项目 | 项目 | 可以添加项目``, ``项目 | 项目的历史 | 可以查看项目的历史``);
- django-simple-history's history pages print an empty change reason as "None", a changed field by its
  code name, and the app by its label: ``templates/simple_history/`` overrides the two templates.

``tracker/tests/test_interface.py`` renders every admin page in Chinese and names any English left.
This module is imported while the app registry is being filled: nothing here imports a model at the top.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

MSGIDS = (
    # Django 5.2's admin (its zh_Hans catalogue lags behind these)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("If disabled, the current password for this user will be lost."),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Error:"),
    # django-import-export
    gettext_noop("Select all"),
    # django-simple-history
    gettext_noop("Changes"),
    gettext_noop("None"),
    # django-axes (no zh_Hans catalogue)
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Account locked: too many login attempts. Please try again later."),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Attempt Time"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Locked Out"),
    gettext_noop("Logout Time"),
    gettext_noop("Meta Data"),
    gettext_noop("Not set"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)


class AxesConfig(AxesAppConfig):
    """django-axes, named in the admin (``INSTALLED_APPS`` lists ``core.vendor.AxesConfig``, not ``axes``)."""

    verbose_name = _("Login lockout")


def _when(moment) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else ""


def _attempt_str(self):
    return gettext("%(username)s from %(address)s, %(time)s") % {
        "username": self.username, "address": self.ip_address, "time": _when(self.attempt_time)}


def _failure_str(self):
    text = gettext("Wrong password for %(username)s from %(address)s, %(time)s") % {
        "username": self.username, "address": self.ip_address, "time": _when(self.attempt_time)}
    return text + (gettext(" (locked out)") if self.locked_out else "")


def _log_str(self):
    return gettext("Login of %(username)s from %(address)s, %(time)s") % {
        "username": self.username, "address": self.ip_address or "—", "time": _when(self.attempt_time)}


PERMISSION_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
    "import": _("Can import %(model)s"),
    "export": _("Can export %(model)s"),
}


def model_label(model) -> str:
    """A model's name as staff read it, also for the tables they never open: a record's history
    (django-simple-history names it "historical 项目") and a many-to-many link table ("program-source
    relationship", from the models' code names)."""
    from simple_history.models import HistoricalChanges

    if issubclass(model, HistoricalChanges):
        return gettext("history of %(model)s") % {"model": model_label(model.instance_type)}
    if model._meta.auto_created:
        ends = [field.related_model._meta.verbose_name for field in model._meta.fields if field.is_relation]
        return gettext("links %(from)s–%(to)s") % {"from": ends[0], "to": ends[-1]}
    return str(model._meta.verbose_name)


def permission_label(permission) -> str:
    """``认证和授权 | 用户 | 可以添加用户`` instead of Django's ``… | Can add user``: the app, the model and the
    action, from the codename; a permission of another form keeps its stored name (translated if the
    catalogue has it)."""
    model = permission.content_type.model_class()
    if model is None:  # a table whose app is gone
        return f"{permission.content_type} | {gettext(permission.name)}"
    name = model_label(model)
    action, _sep, model_name = permission.codename.partition("_")
    if action in PERMISSION_ACTIONS and model._meta.model_name == model_name:
        text = PERMISSION_ACTIONS[action] % {"model": name}
    else:
        text = gettext(permission.name)
    return f"{model._meta.app_config.verbose_name} | {name} | {text}"


def _permission_str(self):
    return permission_label(self)


def translated_password_form():
    """Django's AdminPasswordChangeForm, its warning under "usable password" marked for translation (Django
    appends it to the help text in English)."""
    from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin
    from django.utils.text import format_lazy

    warning = format_lazy(
        '<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        _("If disabled, the current password for this user will be lost."),
    )
    help_text = format_lazy("{}{}", SetUnusablePasswordMixin.usable_password_help_text, warning)
    return type("AdminPasswordChangeForm", (AdminPasswordChangeForm,), {"usable_password_help_text": help_text})


def install() -> None:
    """Replace the English texts the third-party apps make without marking them (see the module's text)."""
    from axes.admin import AccessAttemptAdmin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.apps import apps
    from django.contrib.auth.admin import UserAdmin
    from django.contrib.auth.models import Permission

    AccessAttempt.__str__ = _attempt_str
    AccessFailureLog.__str__ = _failure_str
    AccessLog.__str__ = _log_str
    AccessAttemptAdmin.status.short_description = _("Status")
    Permission.__str__ = _permission_str
    UserAdmin.change_password_form = translated_password_form()
    # A many-to-many table Django makes by itself names its two columns by the models' code names ("county"),
    # which an inline of it shows as its column heads: the models' verbose names instead.
    for model in apps.get_models(include_auto_created=True):
        if model._meta.auto_created:
            for field in model._meta.fields:
                if field.is_relation:
                    field.verbose_name = field.related_model._meta.verbose_name
