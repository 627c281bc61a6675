"""TensorFlow's C++ INFO lines stay off the console unless someone asks for them."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_LEVEL = "import os, recsys; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"


def run(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_importing_recsys_hides_info_but_keeps_warnings():
    assert run(PRINT_LEVEL) == "1"


def test_an_explicit_level_wins():
    assert run(PRINT_LEVEL, TF_CPP_MIN_LOG_LEVEL="0") == "0"


def test_manage_py_sets_it_before_django_starts():
    code = ("import os, sys, manage; from unittest import mock\n"
            "with mock.patch('django.core.management.execute_from_command_line'): manage.main()\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    assert run(code) == "1"
