"""The `qingshou` console script: manage.py with the settings preset."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingshou.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["qingshou", *sys.argv[1:]])


if __name__ == "__main__":
    main()
