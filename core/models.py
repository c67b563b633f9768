"""No models: Django sends ``post_migrate`` (core/apps.py) only to apps with a models module."""
