#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender_site.settings.dev")
    # Before anything imports TensorFlow (also through the sentence model's libraries): no C++
    # INFO flood on the console; warnings and errors still show (see recsys/__init__.py).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
