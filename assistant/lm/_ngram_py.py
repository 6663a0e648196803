"""Pure-Python reader of the binary n-gram LM file: the fallback when the extension is not built, and the
test oracle of ``native/ngram_model.cc``. Same file, same validation, same algorithm (see
``native/ngram_format.h``); plain Python integers stand in for the C++ 64-bit arithmetic.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

from assistant.lm import build as fmt

M64 = fmt.M64


class NgramFormatError(ValueError):
    """A corrupt, truncated or foreign LM file (the twin of the native NgramFormatError)."""


def _corrupt(what: str) -> NgramFormatError:
    return NgramFormatError(f"corrupt n-gram LM file: {what}")


def _start(w: int) -> int:
    return ((w + 1) * fmt.K_WORD) & M64


def _extend(h: int, w: int) -> int:
    return ((h * fmt.K_CHAIN) & M64) ^ (((w + 1) * fmt.K_WORD) & M64)


class _Table:
    __slots__ = (
        "fps",
        "disp",
        "empty",
        "left",
        "probs",
        "backoffs",
        "extends",
        "num_buckets",
        "num_slots",
        "top",
    )

    def __init__(
        self,
        raw: np.ndarray,
        num_buckets: int,
        num_slots: int,
        quant: str,
        top: bool,
        p_book: np.ndarray | None,
        b_book: np.ndarray | None,
    ) -> None:
        sb = fmt.slot_bytes(quant, top)
        slots = raw.reshape(num_slots, sb)
        fpb = fmt.FINGERPRINT_BYTES[quant]
        cb = fmt.CODE_BYTES[quant]
        fp = np.zeros((num_slots, 8), np.uint8)
        fp[:, :fpb] = slots[:, :fpb]
        field_bits = fp.view("<u8").ravel()
        flag = np.uint64(1 << (8 * fpb - 1))
        fp_bits = 8 * fpb - 1 - fmt.DISPLACEMENT_BITS
        self.fps = field_bits & np.uint64((1 << fp_bits) - 1)
        self.disp = ((field_bits >> np.uint64(fp_bits)) & np.uint64(fmt.DISPLACEMENT_MAX)).astype(np.int64)
        self.empty = field_bits == 0
        self.left = (field_bits & flag) != 0
        self.num_buckets = num_buckets
        self.num_slots = num_slots
        self.top = top

        def field(col: int, dtype: str) -> np.ndarray:
            return np.ascontiguousarray(slots[:, col : col + cb]).view(dtype).ravel()

        if quant == "lossless":
            self.probs = field(fpb, "<f4")
            if top:
                self.backoffs = np.zeros(num_slots, np.float32)
                self.extends = np.zeros(num_slots, bool)
            else:
                b = field(fpb + 4, "<f4")
                self.backoffs = b
                self.extends = b.view("<u4") != 0x80000000
        else:
            dt = "<u2" if quant == "q16" else "<u1"
            assert p_book is not None
            pc = field(fpb, dt).astype(np.int64)
            self.probs = p_book[np.minimum(pc, len(p_book) - 1)]
            if top:
                self.backoffs = np.zeros(num_slots, np.float32)
                self.extends = np.zeros(num_slots, bool)
            else:
                assert b_book is not None
                bc = field(fpb + cb, dt).astype(np.int64)
                self.backoffs = b_book[np.minimum(bc, len(b_book) - 1)]
                self.extends = bc != 0

    def find(self, h: int, quant: str) -> int:
        """Slot index of the n-gram with hash ``h``, or -1."""
        key = fmt.fmix64_int(h)
        fpb = fmt.FINGERPRINT_BYTES[quant]
        want = key & ((1 << (8 * fpb - 1 - fmt.DISPLACEMENT_BITS)) - 1)
        if want == 0:
            want = 1
        home = (key * self.num_buckets) >> 64
        fps, empty, disp = self.fps, self.empty, self.disp
        top = fmt.DISPLACEMENT_MAX
        i = home
        while i < self.num_slots:
            if empty[i]:
                return -1
            d = int(disp[i])
            if d < top and i - d > home:  # an entry homed past ours: ours is absent
                return -1
            if int(fps[i]) == want and (i - home >= top if d == top else i - d == home):
                return i
            i += 1
        return -1


class NgramModelPy:
    """The native ``NgramModel``'s twin: ``open(path)``, ``from_bytes(data)``, same methods."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._data = data
        size = len(data)
        if size < fmt.HEADER_BYTES:
            raise NgramFormatError("not an n-gram LM file: shorter than the header")
        buf = np.frombuffer(data, dtype=np.uint8)
        head = fmt._HEAD.unpack_from(data, 0)
        (
            magic,
            version,
            header_bytes,
            file_bytes,
            csum,
            order,
            quant,
            V,
            unk,
            bos,
            eos,
            vbuckets,
            _r,
            *secs,
        ) = head
        if magic != fmt.MAGIC:
            raise NgramFormatError("not an n-gram LM file (bad magic)")
        if version != fmt.FORMAT_VERSION:
            raise NgramFormatError(
                f"n-gram LM format version {version}, this build reads {fmt.FORMAT_VERSION}"
            )
        if header_bytes != fmt.HEADER_BYTES:
            raise _corrupt(f"header size {header_bytes}")
        if file_bytes != size:
            raise _corrupt(f"truncated or padded: header says {file_bytes} bytes, file has {size}")
        if fmt.checksum(buf) != csum:
            raise _corrupt("checksum mismatch")
        if not 1 <= order <= fmt.MAX_ORDER:
            raise _corrupt(f"order {order}")
        if quant >= len(fmt.QUANT_MODES):
            raise _corrupt(f"quantization mode {quant}")
        if V == 0:
            raise _corrupt("empty vocabulary")
        if unk >= V or bos >= V or eos >= V:
            raise _corrupt("special word id out of range")
        if vbuckets == 0 or vbuckets & (vbuckets - 1) or vbuckets <= V:
            raise _corrupt("vocabulary table size")

        def section(off: int, nbytes: int, expect: int, name: str) -> np.ndarray:
            if off % 8 or off < fmt.HEADER_BYTES or off > size or nbytes > size - off:
                raise _corrupt(f"{name} section lies outside the file")
            if nbytes != expect:
                raise _corrupt(f"{name} section has the wrong size")
            return buf[off : off + nbytes]

        s_off, s_str, s_vt, s_uni = (secs[0:2], secs[2:4], secs[4:6], secs[6:8])
        self._offsets = section(*s_off, (V + 1) * 8, "vocab offsets").view("<u8")
        self._strings = section(*s_str, s_str[1], "vocab strings")
        self._vtable = section(*s_vt, vbuckets * 4, "vocab table").view("<u4")
        uni = section(*s_uni, V * 8, "unigrams").view("<f4").reshape(V, 2)
        if self._offsets[0] != 0 or int(self._offsets[V]) != s_str[1]:
            raise _corrupt("vocab offsets")
        if np.any(np.diff(self._offsets.astype(np.int64)) < 0):
            raise _corrupt("vocab offsets not monotone")
        self.order = order
        self.vocab_size = V
        self.quantization = fmt.QUANT_MODES[quant]
        self.unk_id, self.bos_id, self.eos_id = unk, bos, eos
        self.file_bytes = size
        self._vmask = vbuckets - 1
        self._uni_p = (-np.abs(uni[:, 0].astype(np.float64))).tolist()
        self._uni_left = np.signbit(uni[:, 0]).tolist()
        self._uni_b = uni[:, 1].tolist()
        self._uni_ext = (uni[:, 1].view("<u4") != 0x80000000).tolist()
        self._counts = [V]
        self._tables: list[_Table | None] = [None, None]
        qname = self.quantization
        for n in range(2, fmt.MAX_ORDER + 1):
            t = fmt._TABLE.unpack_from(data, fmt._HEAD.size + (n - 2) * fmt._TABLE.size)
            cnt, nb, ns = t[0:3]
            s_slots, s_p, s_b = t[3:5], t[5:7], t[7:9]
            if n > order:
                if cnt or ns or s_slots[1]:
                    raise _corrupt("table for an order above the model's")
                continue
            top = n == order
            sb = fmt.slot_bytes(qname, top)
            if nb == 0 or ns <= nb or cnt >= ns or ns > size // sb + 1:
                raise _corrupt(f"order {n} table geometry")
            raw = section(*s_slots, ns * sb, "n-gram slots")
            p_book = b_book = None
            if qname == "lossless":
                section(*s_p, 0, "probability codebook")
                section(*s_b, 0, "back-off codebook")
            else:
                max_codes = fmt.MAX_CODES[qname]
                pc, bc = s_p[1] // 4, s_b[1] // 4
                if pc == 0 or pc > max_codes or (bc != 0 if top else (bc < 2 or bc > max_codes)):
                    raise _corrupt(f"codebook sizes of order {n}")
                p_book = section(*s_p, pc * 4, "probability codebook").view("<f4").astype(np.float64)
                if not top:
                    b_book = section(*s_b, bc * 4, "back-off codebook").view("<f4").astype(np.float64)
            self._tables.append(_Table(raw, nb, ns, qname, top, p_book, b_book))
            self._counts.append(cnt)

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(cls, path: str | Path) -> NgramModelPy:
        with open(path, "rb") as f:
            try:
                data: bytes | mmap.mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # empty file
                data = b""
        return cls(data)

    @classmethod
    def from_bytes(cls, data: bytes) -> NgramModelPy:
        return cls(bytes(data))

    # ------------------------------------------------------------------ vocabulary

    def num_entries(self, n: int) -> int:
        return self._counts[n - 1] if 1 <= n <= self.order else 0

    def word(self, i: int) -> str:
        if not 0 <= i < self.vocab_size:
            raise IndexError("word id out of range")
        a, b = int(self._offsets[i]), int(self._offsets[i + 1])
        return bytes(self._strings[a:b]).decode("utf-8", errors="replace")

    def index(self, word: str) -> int:
        raw = word.encode("utf-8")
        mask = self._vmask
        i = fmt.word_hash(word) & mask
        for _ in range(mask + 1):
            wid = int(self._vtable[i])
            if wid == fmt.EMPTY_WORD:
                break
            if wid < self.vocab_size:
                a, b = int(self._offsets[wid]), int(self._offsets[wid + 1])
                if bytes(self._strings[a:b]) == raw:
                    return wid
            i = (i + 1) & mask
        return self.unk_id

    def word_ids(self, words: list[str]) -> np.ndarray:
        return np.array([self.index(w) for w in words], dtype=np.int32)

    # ------------------------------------------------------------------ scoring

    def _find(self, n: int, h: int) -> int:
        t = self._tables[n]
        assert t is not None
        return t.find(h, self.quantization)

    def _score(
        self, ctx: list[int], bo: list[float] | None, w: int
    ) -> tuple[float, int, list[int], list[float]]:
        """Score w after context ``ctx`` (most recent first). With ``bo`` (the contexts' back-offs) the
        sentence form; with None the compact form (back-offs read again). Returns prob, matched length,
        next context, next back-offs."""
        N = self.order
        prob = self._uni_p[w]
        m = 1
        next_bo = [self._uni_b[w]]
        next_len = 1 if (N > 1 and self._uni_ext[w]) else 0
        h = _start(w)
        for j in range(min(len(ctx), N - 1) if self._uni_left[w] else 0):
            h = _extend(h, ctx[j])
            i = self._find(j + 2, h)
            if i < 0:
                break
            t = self._tables[j + 2]
            assert t is not None
            prob = float(t.probs[i])
            m = j + 2
            if m < N:
                next_bo.append(float(t.backoffs[i]))
                if t.extends[i]:
                    next_len = m
            if not t.left[i]:
                break
        k = len(ctx)
        if bo is not None:
            for L in range(m, k + 1):
                prob += bo[L - 1]
        elif m <= k:
            if m == 1:
                prob += self._uni_b[ctx[0]]
            hc = _start(ctx[0])
            for L in range(2, k + 1):
                hc = _extend(hc, ctx[L - 1])
                if m > L:
                    continue
                i = self._find(L, hc)
                if i >= 0:
                    t = self._tables[L]
                    assert t is not None
                    prob += float(t.backoffs[i])
        next_ctx = ([w] + ctx[: next_len - 1]) if next_len else []
        return prob, m, next_ctx, next_bo[:next_len]

    def score_words(self, words: list[str], bos: bool = True, eos: bool = True):
        ids = [self.index(w) for w in words]
        if eos:
            ids.append(self.eos_id)
        if bos and self.order > 1:
            ctx, bo = [self.bos_id], [self._uni_b[self.bos_id]]
        else:
            ctx, bo = [], []
        probs, lengths = [], []
        for w in ids:
            p, m, ctx, bo = self._score(ctx, bo, w)
            probs.append(p)
            lengths.append(m)
        p32 = np.array(probs, np.float32)
        return float(np.sum(p32, dtype=np.float64)), p32, np.array(lengths, np.uint8), np.array(ids, np.int32)

    def score_text(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        ids = [self.index(w.decode("utf-8", errors="replace")) for w in sentence.encode("utf-8").split()]
        return float(self._score_ids(ids, bos, eos))

    def score_corpus(
        self, ids: np.ndarray, offsets: np.ndarray, bos: bool = True, eos: bool = True
    ) -> np.ndarray:
        out = np.empty(len(offsets) - 1, np.float32)
        for s in range(len(offsets) - 1):
            words = ids[offsets[s] : offsets[s + 1]].tolist()
            out[s] = self._score_ids(words, bos, eos)
        return out

    def _score_ids(self, ids: list[int], bos: bool, eos: bool) -> float:
        if any(not 0 <= w < self.vocab_size for w in ids):
            raise ValueError("word id out of range")
        ctx, bo = ([self.bos_id], [self._uni_b[self.bos_id]]) if bos and self.order > 1 else ([], [])
        total = 0.0
        for w in ids + ([self.eos_id] if eos else []):
            p, _m, ctx, bo = self._score(ctx, bo, w)
            total += p
        return total

    def advance(self, states: np.ndarray, word_ids: np.ndarray):
        W = self.order
        states = np.ascontiguousarray(states, dtype=np.uint32)
        word_ids = np.ascontiguousarray(word_ids, dtype=np.int32)
        if states.ndim != 2 or states.shape[1] != W:
            raise ValueError("states must be (n, order) uint32")
        if word_ids.ndim != 1 or word_ids.shape[0] != states.shape[0]:
            raise ValueError("word_ids must be (n,) int32 with n = len(states)")
        n = states.shape[0]
        nxt = np.zeros((n, W), np.uint32)
        probs = np.empty(n, np.float32)
        lengths = np.empty(n, np.uint8)
        V = self.vocab_size
        for r in range(n):
            row = states[r].tolist()
            k = row[W - 1]
            if k > W - 1:
                raise ValueError(f"state row {r}: bad length")
            ctx = row[:k]
            if any(c >= V for c in ctx):
                raise ValueError(f"state row {r}: word id out of range")
            w = int(word_ids[r])
            if not 0 <= w < V:
                raise ValueError(f"word_ids[{r}] out of range")
            p, m, next_ctx, _ = self._score(ctx, None, w)
            nxt[r, : len(next_ctx)] = next_ctx
            nxt[r, W - 1] = len(next_ctx)
            probs[r] = p
            lengths[r] = m
        return nxt, probs, lengths
