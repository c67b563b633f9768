"""The two staff roles: ``editor`` (view, add, change, import, export) and ``viewer`` (view, export).

Lives in the last app to migrate so that every model it grants rights on exists. Import and
export are permissions of their own (``import_<model>``, ``export_<model>``), which is what
``IMPORT_EXPORT_IMPORT_PERMISSION_CODE``/``..._EXPORT_...`` in settings point django-import-export at.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Models staff edit; the historical* models are left out (their rights follow the model's).
MODELS = {
    "programs": ["source", "fund", "organization", "program", "outcome"],
    "counties": ["province", "prefecture", "county", "countydesignation"],
    "envoys": ["envoy", "posting"],
}
IMPORTABLE = {model for models in MODELS.values() for model in models} - {"countydesignation"}
ROLES = {
    "editor": ("view", "add", "change", "import", "export"),
    "viewer": ("view", "export"),
}


def create_roles(apps, schema_editor):
    # Django creates the view/add/change/delete permissions after all migrations; a fresh
    # database needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    permissions = {}
    for app_label, model_names in MODELS.items():
        for model_name in model_names:
            model = apps.get_model(app_label, model_name)
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model_name)
            for action in ("view", "add", "change", "delete", "import", "export"):
                if action in ("import", "export") and model_name not in IMPORTABLE:
                    continue
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type,
                    codename=f"{action}_{model_name}",
                    defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"[:255]},
                )
                permissions[(action, model_name)] = permission

    for group_name, actions in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set([p for (action, _m), p in permissions.items() if action in actions])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()
    apps.get_model("auth", "Permission").objects.filter(codename__regex=r"^(import|export)_").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("counties", "0003_history"),
        ("programs", "0002_history"),
        ("envoys", "0002_history"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
