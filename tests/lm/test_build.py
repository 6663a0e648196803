"""The binary file: layout invariants, and clear errors (never a crash) on corrupt, truncated or foreign
files, in both implementations."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from assistant.lm import build as fmt
from assistant.lm.arpa import read_arpa
from assistant.lm.build import build_image, checksum, write_lm
from assistant.lm.ngram import NgramModel
from assistant.models import ModelError
from tests.lm.conftest import DATA


@pytest.fixture(scope="module")
def image() -> bytes:
    return build_image(read_arpa(DATA / "test.arpa"), "lossless")[0]


def _resum(data: bytearray) -> bytes:
    struct.pack_into("<Q", data, 8 * fmt.CHECKSUM_WORD, checksum(data))
    return bytes(data)


def test_header_layout(image):
    assert image[:8] == fmt.MAGIC and len(image) % 8 == 0
    head = fmt._HEAD.unpack_from(image, 0)
    assert head[1] == fmt.FORMAT_VERSION and head[2] == fmt.HEADER_BYTES and head[3] == len(image)
    assert head[4] == checksum(image)


@pytest.mark.parametrize("quant", fmt.QUANT_MODES)
def test_tables_end_empty_and_hold_every_ngram(quant, impl):
    arpa = read_arpa(DATA / "test.arpa")
    img, stats = build_image(arpa, quant)
    lm = NgramModel.from_bytes(img, impl=impl)
    for n in range(2, arpa.order + 1):
        assert lm.num_entries(n) == stats.counts[n - 1] >= len(arpa.log10probs[n])
        off = fmt._HEAD.size + (n - 2) * fmt._TABLE.size
        cnt, nb, ns, slot_off, slot_bytes = fmt._TABLE.unpack_from(img, off)[:5]
        sb = fmt.slot_bytes(quant, n == arpa.order)
        load = fmt.DEFAULT_LOAD_FACTOR[quant][1 if n == arpa.order else 0]
        assert slot_bytes == ns * sb and ns > nb and cnt / nb <= load + 1e-9
        last = img[slot_off + (ns - 1) * sb : slot_off + ns * sb]
        assert last[: fmt.FINGERPRINT_BYTES[quant]] == b"\0" * fmt.FINGERPRINT_BYTES[quant]


CORRUPTIONS = {
    "empty": lambda d: b"",
    "truncated_header": lambda d: d[:100],
    "truncated_body": lambda d: d[: len(d) - 64],
    "padded": lambda d: d + b"\0" * 8,
    "flipped_byte": lambda d: d[:3000] + bytes([d[3000] ^ 0x40]) + d[3001:],
    "wrong_version": lambda d: _resum(bytearray(d[:8] + struct.pack("<I", 99) + d[12:])),
    "order_7": lambda d: _resum(bytearray(d[:32] + struct.pack("<I", 7) + d[36:])),
    "section_outside": lambda d: _resum(bytearray(d[:72] + struct.pack("<Q", 1 << 40) + d[80:])),
    "unk_out_of_range": lambda d: _resum(bytearray(d[:44] + struct.pack("<I", 1 << 30) + d[48:])),
    "foreign_zip": lambda d: b"PK\x03\x04" + b"\0" * 600,
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corrupt_binary_is_a_clear_error(kind, image, impl, tmp_path):
    bad = CORRUPTIONS[kind](image)
    path = tmp_path / "bad.lm"
    path.write_bytes(bad)
    with pytest.raises(ModelError) as e:
        NgramModel.load(path, impl=impl)
    assert str(path) in str(e.value)


def test_every_single_byte_flip_in_the_header_is_caught(image, impl):
    """With the checksum recomputed, structural validation alone must refuse or survive any header edit."""
    for i in range(0, fmt.HEADER_BYTES, 3 if impl == "native" else 17):
        data = bytearray(image)
        data[i] ^= 0xA5
        if i // 8 == fmt.CHECKSUM_WORD:
            continue
        data = bytearray(_resum(data))
        try:
            lm = NgramModel.from_bytes(bytes(data), impl=impl)
        except ModelError:
            continue
        # accepted: then it must still answer without crashing
        lm.score("looking on a little")
        lm.advance(np.stack([lm.begin_state()]), np.zeros(1, np.int32))


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "no \\\\data\\\\"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n", "has 1 1-grams, the header announced 2"),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\t<s>\n\n\\end\\\n", "lack </s>"),
        (
            "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\2-grams:\n-1\t<s> x\n\n\\end\\\n",
            "not among the unigrams",
        ),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\nabc\t</s>\n\n\\end\\\n", "not a number"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t<s>\n\n\\end\\\n", "duplicate unigram"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n", "missing \\\\end"),
        # found by tools/fuzz_lm.py: an absurd announced count must not be allocated
        (
            "\\data\\\nngram 1=99999999999999999999999999\n\n\\1-grams:\n-1\t<s>\n\n\\end\\\n",
            "header announced",
        ),
    ],
)
def test_bad_arpa_is_a_clear_error(text, match, tmp_path, impl):
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(ModelError, match=match):
        NgramModel.load(path, impl=impl)


def test_binary_garbage_and_gzip(tmp_path, impl):
    path = tmp_path / "noise.arpa"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ModelError):
        NgramModel.load(path, impl=impl)
    gz = tmp_path / "toy.arpa.gz"
    gz.write_bytes(gzip.compress((DATA / "toy0.arpa").read_bytes()))
    assert NgramModel.load(gz, impl=impl).order == 3
    with pytest.raises(ModelError):
        NgramModel.load(tmp_path / "missing.lm", impl=impl)


def test_write_is_atomic(tmp_path, image):
    path = tmp_path / "m.lm"
    write_lm(image, path)
    assert path.read_bytes() == image and not list(tmp_path.glob("*.tmp"))
