"""The shipped stubs match the built module (mypy.stubtest), and a typed
usage — the example script — type-checks against them."""

import pathlib
import subprocess
import sys

import lora_export

from conftest import ROOT

HERE = pathlib.Path(__file__).resolve().parent


def test_the_package_ships_stubs_and_py_typed():
    package = pathlib.Path(lora_export.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "__init__.pyi").read_text("utf-8") == (ROOT / "bindings-python" / "lora_export.pyi").read_text("utf-8")


def test_stubtest_finds_the_stubs_true_to_the_module():
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "lora_export", "--allowlist", str(HERE / "stubtest-allowlist.txt")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_type_checks_against_the_stubs():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental",
         str(ROOT / "examples" / "python" / "finetune_export.py")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
