"""No models: the app exists for its post-migrate hook (config/apps.py), which Django sends only to apps
with a models module."""
