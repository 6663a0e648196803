"""Fixtures for the LM tests: the real ARPA files in tests/data/lm and the kenlm reference (skips if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "lm"

# (file, note): kenlm 0.3.0 sdist test files (LGPL-2.1+), and pocketsphinx-testdata's LMs converted with
# Debian's sphinx_lm_convert (BSD); see tests/data/lm/README.md.
REAL_ARPAS = ["test.arpa", "test_nounk.arpa", "toy0.arpa", "toy1.arpa", "turtle.arpa", "tidigits.arpa"]


@pytest.fixture(scope="session")
def kenlm():
    return pytest.importorskip("kenlm", reason="the kenlm reference is not installed (pip install kenlm)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def docstring_corpus() -> tuple[list[list[str]], list[list[str]]]:
    """Real English from the Python standard library's docstrings (present wherever Python is): unique
    sentences, lower-cased, split by module into training and held-out text."""
    import importlib
    import inspect
    import re
    import warnings

    modules = [
        "os",
        "json",
        "argparse",
        "collections",
        "functools",
        "itertools",
        "subprocess",
        "logging",
        "asyncio",
        "pathlib",
        "re",
        "typing",
        "unittest",
        "email",
        "http.client",
        "xml.dom.minidom",
        "zipfile",
        "tarfile",
        "shutil",
        "inspect",
        "decimal",
        "datetime",
        "threading",
        "socket",
        "pickle",
        "csv",
        "sqlite3",
        "tkinter",
        "turtle",
        "difflib",
        "textwrap",
        "statistics",
    ]
    seen: set[str] = set()
    train: list[list[str]] = []
    held: list[list[str]] = []
    for i, name in enumerate(modules):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            members = inspect.getmembers(module)
            docs = [inspect.getdoc(obj) for _m, obj in members if getattr(obj, "__module__", name) == name]
        for doc in docs:
            for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", doc or ""):
                words = re.findall(r"[a-z0-9_']+|[.,;:]", sentence.lower())
                key = " ".join(words)
                if len(words) < 3 or key in seen:
                    continue
                seen.add(key)
                (held if i % 5 == 4 else train).append(words)
    return train, held


@pytest.fixture(scope="session")
def docstring_lm():
    """(ArpaModel order 3 estimated from the training docstrings, held-out sentences as strings)."""
    from assistant.lm.estimate import estimate

    train, held = docstring_corpus()
    return estimate(train, 3), [" ".join(s) for s in held]
