"""The large-model check (opt in: -m slow): a >= 3 M n-gram order-5 model estimated from the Python
documentation (Debian python3.11-doc) scores held-out text word for word as kenlm does, lossless, and
within the reported perplexity change when quantized."""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest

from assistant.lm.arpa import write_arpa
from assistant.lm.build import build_image
from assistant.lm.estimate import estimate
from assistant.lm.ngram import NgramModel

pytestmark = pytest.mark.slow


def docs_corpus() -> tuple[list[list[str]], list[str]]:
    found = glob.glob("/usr/share/doc/python3*/html/_sources/**/*.txt", recursive=True)
    files = sorted({str(Path(f).resolve()) for f in found})
    if not files:
        pytest.skip("needs the Debian package python3.11-doc")
    train, held = [], []
    for i, f in enumerate(files):
        text = Path(f).read_text(encoding="utf-8", errors="replace")
        for para in re.split(r"\n\s*\n", text):
            for s in re.split(r"(?<=[.!?])\s+", para):
                words = re.findall(r"[a-z0-9_']+|[.,;:()]", s.lower())
                if len(words) >= 3:
                    (held if i % 20 == 0 else train).append(words)
    return train, [" ".join(s) for s in held]


def test_large_model_equals_kenlm(tmp_path, kenlm):
    train, held = docs_corpus()
    arpa = estimate(train, 5)
    assert sum(arpa.counts()) >= 3_000_000
    path = tmp_path / "docs5.arpa"
    write_arpa(arpa, path)
    ref = kenlm.Model(str(path))
    lm = NgramModel.from_bytes(build_image(arpa, "lossless")[0])
    lengths = set()
    for s in held[:3000]:
        for m, (p, n, oov) in zip(lm.full_scores(s), ref.full_scores(s), strict=True):
            assert abs(m.log10prob - p) <= 1e-4 and m.ngram_length == n and m.oov == oov
            lengths.add(n)
    assert lengths == {1, 2, 3, 4, 5}
    for quant, limit in (("q16", 0.002), ("q8", 0.05)):
        q = NgramModel.from_bytes(build_image(arpa, quant)[0])
        a = sum(lm.score(s) for s in held)
        b = sum(q.score(s) for s in held)
        words = sum(len(s.split()) + 1 for s in held)
        assert abs(10 ** (-b / words) / 10 ** (-a / words) - 1) <= limit
