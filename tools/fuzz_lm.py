#!/usr/bin/env python3
"""Fuzz the ARPA parser and the binary loader with atheris (coverage-guided, libFuzzer inside).

    .venv/bin/pip install atheris
    python -m tools.fuzz_lm arpa   -atheris_runs=200000
    python -m tools.fuzz_lm binary -atheris_runs=200000      # also: -max_total_time=SECONDS

The only acceptable outcome for any input is a model or ModelError / NgramFormatError: any other
exception, or a crash of the native loader (signal), is a finding that atheris reports and saves.

``binary`` inputs are either raw files, or edits of a valid image whose checksum is then recomputed, so
the structural validation behind the checksum is what gets fuzzed; every accepted image is then queried
through both implementations (score, full_scores, advance) to show no content read out of bounds.
``arpa`` inputs are parsed, compiled to an image and queried the same way.
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports():
    from assistant import _accel
    from assistant.lm import build as fmt
    from assistant.lm._ngram_py import NgramFormatError as PyFormatError
    from assistant.lm._ngram_py import NgramModelPy
    from assistant.lm.arpa import parse_arpa, read_arpa
    from assistant.models import ModelError

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "lm"
SEED_IMAGES = [
    fmt.build_image(read_arpa(DATA / name), quant)[0]
    for name, quant in (("toy0.arpa", "lossless"), ("test.arpa", "q8"), ("turtle.arpa", "q16"))
]
IMPLS = [NgramModelPy] + ([_accel.native.NgramModel] if _accel.native is not None else [])
FORMAT_ERRORS = (PyFormatError,) + ((_accel.native.NgramFormatError,) if _accel.native is not None else ())
WORDS = ["a", "the", "looking", "on", "little", "<s>", "</s>", "<unk>", "zz"]


def exercise(image: bytes) -> None:
    for impl in IMPLS:
        try:
            model = impl.from_bytes(image)
        except FORMAT_ERRORS:
            continue
        model.score_words(WORDS, True, True)
        model.score_words(WORDS[:3], False, False)
        n = min(model.vocab_size, 16)
        states = np.zeros((n, model.order), np.uint32)
        if model.order > 1:
            states[:, 0] = np.arange(n) % model.vocab_size
            states[:, -1] = 1
        nxt, _p, _l = model.advance(states, (np.arange(n, dtype=np.int32) * 7) % model.vocab_size)
        model.advance(nxt, np.zeros(n, np.int32))


def one_binary(data: bytes) -> None:
    if len(data) < 2:
        return
    fdp = atheris.FuzzedDataProvider(data[1:])
    if data[0] & 1:
        image = bytearray(SEED_IMAGES[data[0] % len(SEED_IMAGES)])
        for _ in range(fdp.ConsumeIntInRange(1, 8)):
            pos = fdp.ConsumeIntInRange(0, len(image) - 1)
            image[pos] = fdp.ConsumeIntInRange(0, 255)
        if data[0] & 2:
            del image[fdp.ConsumeIntInRange(0, len(image)) :]
        if len(image) >= 32:
            struct.pack_into("<Q", image, 8 * fmt.CHECKSUM_WORD, fmt.checksum(image))
        image = bytes(image)
    else:
        image = fdp.ConsumeBytes(fdp.remaining_bytes())
    exercise(image)


def one_arpa(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        arpa = parse_arpa(io.StringIO(text), "<fuzz>")
        image, _stats = fmt.build_image(arpa, ("lossless", "q16", "q8")[len(data) % 3])
    except ModelError:
        return
    exercise(image)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("arpa", "binary"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    target = one_arpa if sys.argv[1] == "arpa" else one_binary
    seeds = Path("var/fuzz_lm") / sys.argv[1]
    seeds.mkdir(parents=True, exist_ok=True)
    if sys.argv[1] == "arpa":
        for p in DATA.glob("*.arpa"):
            (seeds / p.name).write_bytes(p.read_bytes()[:4000])
    else:
        for i, img in enumerate(SEED_IMAGES):
            (seeds / f"raw{i}").write_bytes(b"\0" + img)
            (seeds / f"edit{i}").write_bytes(bytes([1 + 2 * i]) + bytes(range(64)))
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(seeds)], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
