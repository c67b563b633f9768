#!/usr/bin/env python
"""Django's command-line utility for the Rural Programs Tracker."""
import os
import sys

# Commands that only read files and write nothing (DESIGN.md: `load_seeds --check`, `propose_figures`)
# sign nothing, so they run without a SECRET_KEY; everything else still stops without one (config/settings.py).
READ_ONLY_COMMANDS = {"propose_figures": None, "load_seeds": "--check"}


def needs_no_key(argv) -> bool:
    if len(argv) < 2 or argv[1] not in READ_ONLY_COMMANDS:
        return False
    flag = READ_ONLY_COMMANDS[argv[1]]
    return flag is None or flag in argv[2:]


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if needs_no_key(sys.argv) and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = "unused-by-read-only-commands"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
