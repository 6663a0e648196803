"""Builds the one private extension, ``assistant._native``, from ``native/*.cc``.

All metadata lives in pyproject.toml. ``ASSISTANT_PURE_PYTHON=1`` skips the extension; the package then
runs on its numpy twins (``assistant/_accel.py`` is the one place that chooses).
"""

import os
from glob import glob

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

ext_modules = []
if not os.environ.get("ASSISTANT_PURE_PYTHON"):
    ext_modules.append(
        Pybind11Extension(
            "assistant._native",
            sorted(glob("native/*.cc")),  # sorted: bit-for-bit reproducible builds
            include_dirs=["native"],
            cxx_std=17,
            extra_compile_args=["-O3", "-fvisibility=hidden"],
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})
