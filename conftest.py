"""Every fixture and test helper lives in the core.testing plugin (core/testing/)."""

pytest_plugins = ["core.testing", "core.testing.config", "core.testing.admin", "core.testing.world",
                  "core.testing.browser"]
