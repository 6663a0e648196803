"""The writer of the binary n-gram LM file. The layout, its costs and its rules are defined in
``native/ngram_format.h``; this module follows it field by field, and ``_ngram_py.py`` reads it back.

    image = build_image(read_arpa("in.arpa"), quant="q8")   # bytes
    write_lm(image, "out.lm")                                # atomic

Building makes the n-gram set closed under prefix and suffix (adding "blank" n-grams whose probability is
what back-off gives and whose back-off is 0, as KenLM does for pruned files), marks which n-grams extend
(are a context of a longer n-gram, or back off by a non-zero weight), quantizes if asked, and places each
order's n-grams in a sorted linear-probing table. All of it is vectorized with numpy.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.atomic import write_atomic
from assistant.lm.arpa import BOS, EOS, UNK, ArpaModel
from assistant.models import ModelError

MAGIC = b"ASNGRAM\x1a"
FORMAT_VERSION = 1
MAX_ORDER = 6
HEADER_BYTES = 512
EMPTY_WORD = 0xFFFFFFFF
CHECKSUM_WORD = 3
DISPLACEMENT_BITS = 4
DISPLACEMENT_MAX = (1 << DISPLACEMENT_BITS) - 1
QUANT_MODES = ("lossless", "q16", "q8")
FINGERPRINT_BYTES = {"lossless": 8, "q16": 4, "q8": 3}
CODE_BYTES = {"lossless": 4, "q16": 2, "q8": 1}
MAX_CODES = {"q16": 65536, "q8": 256}
DEFAULT_LOAD_FACTOR = {"lossless": (0.65, 0.65), "q16": (0.80, 0.80), "q8": (0.80, 0.88)}
"""(middle orders, top order) fraction of each table's home range filled: space is slot / load, a lookup
reads ~(1 + 1/(1-load))/2 slots. q8 fills the top order (4-byte slots, probed least often) more."""

M64 = (1 << 64) - 1
K_WORD = 0xC2B2AE3D27D4EB4F
K_CHAIN = 0x9E3779B97F4A7C15

# FileHeader up to the per-order tables: magic, version, header_bytes, file_bytes, checksum, 8 x uint32,
# then 4 sections (offset, bytes); then kMaxOrder-1 OrderTables of 3 uint64 + 3 sections.
_HEAD = struct.Struct("<8sIIQQ8I8Q")
_TABLE = struct.Struct("<9Q")
assert _HEAD.size + (MAX_ORDER - 1) * _TABLE.size <= HEADER_BYTES


def slot_bytes(quant: str, top: bool) -> int:
    return FINGERPRINT_BYTES[quant] + CODE_BYTES[quant] * (1 if top else 2)


# ------------------------------------------------------------------------------------------- hashing


def fmix64(k: np.ndarray) -> np.ndarray:
    k = k.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        k ^= k >> np.uint64(33)
        k *= np.uint64(0xFF51AFD7ED558CCD)
        k ^= k >> np.uint64(33)
        k *= np.uint64(0xC4CEB9FE1A85EC53)
        k ^= k >> np.uint64(33)
    return k


def start_hash(words: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (words.astype(np.uint64) + np.uint64(1)) * np.uint64(K_WORD)


def extend_hash(h: np.ndarray, words: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (h * np.uint64(K_CHAIN)) ^ ((words.astype(np.uint64) + np.uint64(1)) * np.uint64(K_WORD))


def ngram_hashes(ids: np.ndarray) -> np.ndarray:
    """(count, n) word ids -> (count,) uint64 n-gram hashes, built right to left (ngram_format.h)."""
    n = ids.shape[1]
    h = start_hash(ids[:, n - 1])
    for c in range(n - 2, -1, -1):
        h = extend_hash(h, ids[:, c])
    return h


def mulhi(key: np.ndarray, n: int) -> np.ndarray:
    """floor(key * n / 2^64) for uint64 keys and n < 2^32."""
    assert 0 < n < (1 << 32)
    nn = np.uint64(n)
    hi = key >> np.uint64(32)
    lo = key & np.uint64(0xFFFFFFFF)
    with np.errstate(over="ignore"):
        return (hi * nn + ((lo * nn) >> np.uint64(32))) >> np.uint64(32)


def word_hash(word: str) -> int:
    """FNV-1a 64 over UTF-8, then fmix64 (the vocabulary hash)."""
    h = 0xCBF29CE484222325
    for b in word.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return fmix64_int(h)


def fmix64_int(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & M64
    k ^= k >> 33
    return k


def checksum(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The file checksum (ngram_format.h, INTEGRITY): sum of w_i * (2i + 1) mod 2^64, word 3 as 0."""
    buf = np.frombuffer(data, dtype=np.uint8)
    pad = (-len(buf)) % 8
    if pad:
        buf = np.concatenate([buf, np.zeros(pad, np.uint8)])
    words = buf.view("<u8")
    total = np.uint64(0)
    chunk = 1 << 22
    with np.errstate(over="ignore"):
        for start in range(0, len(words), chunk):
            w = words[start : start + chunk].astype(np.uint64)
            if start <= CHECKSUM_WORD < start + len(w):
                w[CHECKSUM_WORD - start] = 0
            mult = np.arange(start, start + len(w), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            total = total + np.sum(w * mult, dtype=np.uint64)
    return int(total)


# ------------------------------------------------------------------------------------------- model prep


@dataclass
class BuildStats:
    counts: list[int]
    """n-grams per order as stored (blanks included)"""
    blanks: list[int]
    """blank n-grams added per order to close the set under prefix and suffix"""
    file_bytes: int = 0
    quant: str = "lossless"


def _lookup(
    keys_sorted: np.ndarray, order_idx: np.ndarray, query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the unsorted arrays) of query keys, and a found mask."""
    pos = np.searchsorted(keys_sorted, query)
    pos = np.minimum(pos, len(keys_sorted) - 1)
    found = keys_sorted[pos] == query if len(keys_sorted) else np.zeros(len(query), bool)
    return order_idx[pos], found


def close_model(
    arpa: ArpaModel,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray], list[int]]:
    """Add blank n-grams so every n-gram's prefix and suffix are present. Returns per-order ids, probs,
    back-offs (float32; blanks: prob from back-off, back-off 0) and the number of blanks per order."""
    N = arpa.order
    ids = {n: arpa.ids[n] for n in range(1, N + 1)}
    probs = {n: arpa.log10probs[n].astype(np.float32) for n in range(1, N + 1)}
    bos = {n: arpa.log10backoffs[n].astype(np.float32) for n in range(1, N + 1)}
    blanks = [0] * (N + 1)
    keys = {n: ngram_hashes(ids[n]) for n in range(2, N + 1)}
    for n in range(2, N + 1):
        if len(np.unique(keys[n])) != len(keys[n]):
            raise ModelError(f"the model has a duplicate {n}-gram (or a 64-bit hash collision)")
    blank_rows: dict[int, np.ndarray] = {}
    for n in range(N, 2, -1):  # the (n-1)-grams that order n needs
        need = np.concatenate([ids[n][:, :-1], ids[n][:, 1:]])
        need_keys = ngram_hashes(need)
        have = np.isin(need_keys, keys[n - 1])
        if not have.all():
            missing_keys, first = np.unique(need_keys[~have], return_index=True)
            rows = need[~have][first]
            blank_rows[n - 1] = rows
            blanks[n - 1] = len(rows)
            ids[n - 1] = np.concatenate([ids[n - 1], rows]).astype(np.int32)
            keys[n - 1] = np.concatenate([keys[n - 1], missing_keys])
            probs[n - 1] = np.concatenate([probs[n - 1], np.full(len(rows), np.nan, np.float32)])
            bos[n - 1] = np.concatenate([bos[n - 1], np.zeros(len(rows), np.float32)])
    # blank probabilities, low orders first: p(w | w1..) = bo(w1..w_{n-1}) + p(w | w2..)
    for n in range(2, N):
        if n not in blank_rows:
            continue
        blank = np.isnan(probs[n])
        rows = ids[n][blank]
        if n == 2:
            ctx_bo = bos[1][rows[:, 0]]
            lower_p = probs[1][rows[:, 1]]
        else:
            order_idx = np.argsort(keys[n - 1], kind="stable")
            ksorted = keys[n - 1][order_idx]
            pi, pf = _lookup(ksorted, order_idx, ngram_hashes(rows[:, :-1]))
            si, sf = _lookup(ksorted, order_idx, ngram_hashes(rows[:, 1:]))
            assert pf.all() and sf.all()
            ctx_bo = bos[n - 1][pi]
            lower_p = probs[n - 1][si]
        probs[n][blank] = (ctx_bo + lower_p).astype(np.float32)
    return ids, probs, bos, blanks[1:]


def _extension_flags(ids: dict[int, np.ndarray], bos: dict[int, np.ndarray], N: int) -> dict[int, np.ndarray]:
    """ext[n][i]: n-gram i is a context (prefix) of some (n+1)-gram, or has a non-zero back-off."""
    ext = {}
    for n in range(1, N):
        e = bos[n] != 0.0
        if n == 1:
            e[np.unique(ids[2][:, 0])] = True
        else:
            e |= np.isin(ngram_hashes(ids[n]), ngram_hashes(ids[n + 1][:, :-1]))
        ext[n] = e
    return ext


def _left_flags(ids: dict[int, np.ndarray], N: int) -> dict[int, np.ndarray]:
    """left[n][i]: n-gram i is the suffix of some (n+1)-gram (the probe chain continues past it)."""
    left = {}
    for n in range(1, N):
        if n == 1:
            e = np.zeros(len(ids[1]), bool)
            e[np.unique(ids[2][:, -1])] = True
        else:
            e = np.isin(ngram_hashes(ids[n]), ngram_hashes(ids[n + 1][:, 1:]))
        left[n] = e
    return left


def _quantize(values: np.ndarray, num_codes: int, reserved: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-population binning (codes from ``reserved`` up); returns (codebook float32, codes uint32)."""
    usable = num_codes - reserved
    distinct = np.unique(values)
    if len(distinct) <= usable:
        centres = distinct.astype(np.float32)
        codes = np.searchsorted(distinct, values).astype(np.uint32)
    else:
        order = np.argsort(values, kind="stable")
        sorted_vals = values[order].astype(np.float64)
        bounds = np.linspace(0, len(values), usable + 1).astype(np.int64)
        bin_of_rank = np.searchsorted(bounds, np.arange(len(values)), side="right") - 1
        # keep equal values in one bin: a value's bin is the bin of its first occurrence
        first = np.searchsorted(sorted_vals, sorted_vals, side="left")
        bin_of_rank = bin_of_rank[first]
        sums = np.bincount(bin_of_rank, weights=sorted_vals, minlength=usable)
        cnts = np.bincount(bin_of_rank, minlength=usable)
        used = cnts > 0
        remap = np.cumsum(used) - 1
        centres = (sums[used] / cnts[used]).astype(np.float32)
        codes = np.empty(len(values), np.uint32)
        codes[order] = remap[bin_of_rank]
    if reserved:
        centres = np.concatenate([np.zeros(reserved, np.float32), centres])
        codes = codes + np.uint32(reserved)
    return centres, codes


def _place(keys: np.ndarray, load_factor: float, quant: str) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Sorted linear probing: returns (num_buckets, num_slots, position of each entry, fingerprints)."""
    count = len(keys)
    num_buckets = max(1, int(np.ceil(count / load_factor)))
    if num_buckets >= (1 << 32):
        raise ModelError("an order has too many n-grams for one table (limit about 3.6e9)")
    k = fmix64(keys)
    home = mulhi(k, num_buckets).astype(np.int64)
    fpb = FINGERPRINT_BYTES[quant]
    fp_bits = 8 * fpb - 1 - DISPLACEMENT_BITS  # field: fingerprint | displacement | LEFT flag
    fp = k & np.uint64((1 << fp_bits) - 1)
    fp = np.where(fp == 0, np.uint64(1), fp)
    order = np.argsort(home, kind="stable")
    sorted_home = home[order]
    idx = np.arange(count, dtype=np.int64)
    pos_sorted = idx + np.maximum.accumulate(sorted_home - idx) if count else idx
    pos = np.empty(count, np.int64)
    pos[order] = pos_sorted
    disp = np.minimum(pos - home, DISPLACEMENT_MAX).astype(np.uint64)
    fp = fp | (disp << np.uint64(fp_bits))
    last = int(pos_sorted[-1]) if count else -1
    num_slots = max(num_buckets, last + 1) + 1  # at least one empty slot at the very end
    return num_buckets, num_slots, pos, fp


def _pack_slots(
    num_slots: int, pos: np.ndarray, fp: np.ndarray, fields: list[np.ndarray], quant: str, top: bool
) -> bytes:
    sb = slot_bytes(quant, top)
    out = np.zeros((num_slots, sb), np.uint8)
    fpb = FINGERPRINT_BYTES[quant]
    out[pos, :fpb] = fp.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :fpb]
    col = fpb
    for f in fields:
        width = f.dtype.itemsize
        out[pos, col : col + width] = f.view(np.uint8).reshape(-1, width)
        col += width
    return out.tobytes()


def _vocab_table(vocab: list[str]) -> tuple[int, np.ndarray]:
    buckets = 1
    while buckets <= 1.5 * len(vocab):  # load <= 2/3
        buckets *= 2
    table = np.full(buckets, EMPTY_WORD, np.uint32)
    mask = buckets - 1
    for i, w in enumerate(vocab):
        j = word_hash(w) & mask
        while table[j] != EMPTY_WORD:
            j = (j + 1) & mask
        table[j] = i
    return buckets, table


def build_image(
    arpa: ArpaModel,
    quant: str = "lossless",
    load_factor: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[bytes, BuildStats]:
    """The binary image of ``arpa`` in mode ``quant`` ("lossless", "q16" or "q8")."""
    if quant not in QUANT_MODES:
        raise ValueError(f"quant must be one of {QUANT_MODES}, got {quant!r}")
    loads = (load_factor, load_factor) if load_factor is not None else DEFAULT_LOAD_FACTOR[quant]
    for load in loads:
        if not 0.05 <= load <= 0.98:
            raise ValueError(f"load factor must be in [0.05, 0.98], got {load}")
    N = arpa.order
    V = len(arpa.vocab)
    if V >= EMPTY_WORD:
        raise ModelError("vocabulary too large")
    say = progress or (lambda _msg: None)
    index = arpa.word_index()
    say("closing the n-gram set")
    ids, probs, bos, blanks = close_model(arpa)
    ext = _extension_flags(ids, bos, N)
    left = _left_flags(ids, N)

    # unigrams by word id; back-off -0.0 = no extension
    uni_p = np.full(V, np.float32(-100.0), np.float32)
    uni_b = np.zeros(V, np.float32)
    uni_ext = np.zeros(V, bool)
    uni_p[ids[1][:, 0]] = probs[1]
    uni_b[ids[1][:, 0]] = bos[1]
    if N > 1:
        uni_ext[ids[1][:, 0]] = ext[1]
    uni_b = np.where(
        (uni_b == 0.0) & ~uni_ext, np.float32(-0.0), np.where(uni_b == 0.0, np.float32(0.0), uni_b)
    )
    uni_b = uni_b.astype(np.float32)
    uni_left = np.zeros(V, bool)
    if N > 1:
        uni_left[ids[1][:, 0]] = left[1]
    uni_p = np.where(uni_left, -np.abs(uni_p), np.abs(uni_p)).astype(np.float32)  # sign bit = LEFT flag

    sections: list[bytes] = []
    cursor = HEADER_BYTES

    def add(data: bytes, align: int = 8) -> tuple[int, int]:
        nonlocal cursor
        if cursor % align:
            gap = align - cursor % align
            sections.append(b"\0" * gap)
            cursor += gap
        off = cursor
        sections.append(data)
        pad = (-len(data)) % 8
        if pad:
            sections.append(b"\0" * pad)
        cursor += len(data) + pad
        return off, len(data)

    encoded = [w.encode("utf-8") for w in arpa.vocab]
    offsets = np.zeros(V + 1, "<u8")
    offsets[1:] = np.cumsum([len(b) for b in encoded])
    sec_offsets = add(offsets.tobytes())
    sec_strings = add(b"".join(encoded))
    vocab_buckets, vtable = _vocab_table(arpa.vocab)
    sec_vtable = add(vtable.astype("<u4").tobytes())
    uni = np.empty((V, 2), "<f4")
    uni[:, 0] = uni_p
    uni[:, 1] = uni_b
    sec_uni = add(uni.tobytes())

    tables = []
    for n in range(2, N + 1):
        say(f"placing {len(probs[n])} {n}-grams")
        top = n == N
        keys = ngram_hashes(ids[n])
        num_buckets, num_slots, pos, fp = _place(keys, loads[1] if top else loads[0], quant)
        if not top:
            fp = fp | np.where(left[n], np.uint64(1 << (8 * FINGERPRINT_BYTES[quant] - 1)), np.uint64(0))
        b = bos[n]
        if quant == "lossless":
            fields = [probs[n].astype("<f4")]
            if not top:
                bo = np.where((b == 0.0) & ~ext[n], np.float32(-0.0), np.where(b == 0.0, np.float32(0.0), b))
                fields.append(bo.astype("<f4"))
            p_book = b_book = b""
        else:
            code_dtype = "<u2" if quant == "q16" else "<u1"
            centres, codes = _quantize(probs[n], MAX_CODES[quant])
            fields = [codes.astype(code_dtype)]
            p_book = centres.astype("<f4").tobytes()
            b_book = b""
            if not top:
                nonzero = b != 0.0
                bcodes = np.where(ext[n], 1, 0).astype(np.uint32)
                if nonzero.any():
                    bcentres, nz_codes = _quantize(b[nonzero], MAX_CODES[quant], reserved=2)
                    bcodes[nonzero] = nz_codes
                else:
                    bcentres = np.zeros(2, np.float32)
                fields.append(bcodes.astype(code_dtype))
                b_book = bcentres.astype("<f4").tobytes()
        slots = _pack_slots(num_slots, pos, fp, fields, quant, top)
        # slots start on a cache line, so no 16-byte lossless slot straddles two lines
        tables.append((len(keys), num_buckets, num_slots, add(slots, 64), add(p_book), add(b_book)))

    head = _HEAD.pack(
        MAGIC,
        FORMAT_VERSION,
        HEADER_BYTES,
        cursor,
        0,
        N,
        QUANT_MODES.index(quant),
        V,
        index[UNK],
        index[BOS],
        index[EOS],
        vocab_buckets,
        0,
        *sec_offsets,
        *sec_strings,
        *sec_vtable,
        *sec_uni,
    )
    table_bytes = b""
    for n in range(2, MAX_ORDER + 1):
        if n <= N:
            cnt, nb, ns, s_slots, s_p, s_b = tables[n - 2]
            table_bytes += _TABLE.pack(cnt, nb, ns, *s_slots, *s_p, *s_b)
        else:
            table_bytes += _TABLE.pack(*([0] * 9))
    header = head + table_bytes
    header += b"\0" * (HEADER_BYTES - len(header))
    image = bytearray(header + b"".join(sections))
    assert len(image) == cursor
    struct.pack_into("<Q", image, 8 * CHECKSUM_WORD, checksum(image))
    counts = [V] + [len(probs[n]) for n in range(2, N + 1)]
    return bytes(image), BuildStats(counts=counts, blanks=blanks, file_bytes=len(image), quant=quant)


def write_lm(image: bytes, path: Path | str) -> None:
    """Write a built image atomically (``assistant.atomic``)."""
    write_atomic(path, image)
