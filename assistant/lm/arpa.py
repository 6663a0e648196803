"""ARPA back-off language model files (plain or gzip) read into arrays, and written back.

    arpa = read_arpa("model.arpa.gz")      # ArpaModel: vocab, per-order id rows, log10 probs and back-offs
    write_arpa(arpa, "copy.arpa")

The reader is strict: a file that is not ARPA, has counts that disagree with its sections, repeats an
n-gram, or uses a word absent from the unigrams raises ``ModelError`` naming the file and line. ``<unk>``
is added with log10 p = -100 when the file has none (KenLM does the same); ``<s>`` and ``</s>`` must be
present.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.models import ModelError

UNK = "<unk>"
BOS = "<s>"
EOS = "</s>"
MAX_ORDER = 6
MISSING_UNK_LOG10PROB = -100.0
"""log10 probability given to ``<unk>`` when an ARPA file has none (KenLM's default)"""

_COUNT_RE = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)\s*$")
_SECTION_RE = re.compile(r"^\\(\d+)-grams:\s*$")


@dataclass
class ArpaModel:
    """A back-off LM as arrays. ``ids[n]``: (count, n) int32 word ids of the n-grams of order n (n >= 1);
    ``log10probs[n]`` and ``log10backoffs[n]``: (count,) float32 (back-off 0 where the file gives none)."""

    vocab: list[str]
    ids: dict[int, np.ndarray] = field(default_factory=dict)
    log10probs: dict[int, np.ndarray] = field(default_factory=dict)
    log10backoffs: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def order(self) -> int:
        return max(self.ids)

    def counts(self) -> list[int]:
        return [len(self.log10probs[n]) for n in range(1, self.order + 1)]

    def word_index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocab)}


def open_text(path: Path | str) -> io.TextIOBase:
    """Open a text file, transparently gunzipping (by content, not by name)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
    except OSError as e:
        raise ModelError(f"cannot read {path}: {e}") from None
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def read_arpa(path: Path | str, progress: Callable[[int], None] | None = None) -> ArpaModel:
    """Parse an ARPA file. ``progress(n)`` is called with the number of n-gram lines read since last call."""
    try:
        with open_text(path) as f:
            return parse_arpa(f, str(path), progress)
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}: not UTF-8 text ({e.reason}); not an ARPA file") from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise ModelError(f"{path}: cannot read: {e}") from None


def parse_arpa(
    lines: Iterable[str], name: str = "<arpa>", progress: Callable[[int], None] | None = None
) -> ArpaModel:
    it = iter(lines)
    lineno = 0

    def fail(msg: str) -> ModelError:
        return ModelError(f"{name}:{lineno}: {msg}")

    # header: anything up to \data\
    for line in it:
        lineno += 1
        if line.strip() == "\\data\\":
            break
        if lineno > 1000:
            raise fail("no \\data\\ section in the first 1000 lines; not an ARPA file")
    else:
        raise fail("no \\data\\ section; not an ARPA file")

    counts: dict[int, int] = {}
    line = ""
    for line in it:
        lineno += 1
        s = line.strip()
        if not s:
            if counts:
                break
            continue
        m = _COUNT_RE.match(s)
        if not m:
            if _SECTION_RE.match(s):
                break
            raise fail(f"expected 'ngram N=COUNT', got {s[:60]!r}")
        n, c = int(m.group(1)), int(m.group(2))
        if n != len(counts) + 1:
            raise fail(f"ngram counts out of order (got order {n})")
        if n > MAX_ORDER:
            raise fail(f"order {n} is above the supported maximum {MAX_ORDER}")
        counts[n] = c
    if not counts:
        raise fail("no 'ngram N=COUNT' lines")
    order = len(counts)
    if counts[1] == 0:
        raise fail("no unigrams")

    vocab: list[str] = []
    index: dict[str, int] = {}
    model = ArpaModel(vocab=vocab)
    pending = line.strip() if _SECTION_RE.match(line.strip() if line else "") else None
    for n in range(1, order + 1):
        # find the section header
        header = pending
        pending = None
        while header is None or not header:
            try:
                header = next(it).strip()
            except StopIteration:
                raise fail(f"missing \\{n}-grams: section") from None
            lineno += 1
        m = _SECTION_RE.match(header)
        if not m or int(m.group(1)) != n:
            raise fail(f"expected \\{n}-grams:, got {header[:60]!r}")
        count = counts[n]
        first_lineno = lineno + 1
        block: list[str] = []
        for line in it:
            lineno += 1
            if not line.strip():
                break
            block.append(line)
            if len(block) > count:
                break
        parsed = _parse_block_fast(block, n, count, index) if n > 1 else None
        if parsed is None:
            parsed = _parse_block(block, n, count, index, vocab, first_lineno, name)
        ids, probs, backoffs = parsed
        if progress is not None:
            progress(count)
        model.ids[n] = ids
        model.log10probs[n] = probs
        model.log10backoffs[n] = backoffs

    # trailing \end\ (optional blank lines before it)
    for line in it:
        lineno += 1
        s = line.strip()
        if not s:
            continue
        if s == "\\end\\":
            break
        raise fail(f"expected \\end\\, got {s[:60]!r}")
    else:
        raise fail("missing \\end\\ (truncated file?)")

    for special in (BOS, EOS):
        if special not in index:
            raise ModelError(f"{name}: the unigrams lack {special}")
    if UNK not in index:
        index[UNK] = len(vocab)
        vocab.append(UNK)
        model.ids[1] = np.concatenate([model.ids[1], [[index[UNK]]]]).astype(np.int32)
        model.log10probs[1] = np.append(model.log10probs[1], np.float32(MISSING_UNK_LOG10PROB))
        model.log10backoffs[1] = np.append(model.log10backoffs[1], np.float32(0.0))
    return model


def _parse_block_fast(block: list[str], n: int, count: int, index: dict[str, int]):
    """Columns at once for a regular section (every line n+1 or every line n+2 fields, all words known,
    all numbers valid); None to fall back to the line-by-line parser, which names the bad line."""
    if len(block) != count or count == 0:
        return None
    rows = [line.split() for line in block]
    widths = set(map(len, rows))
    if len(widths) != 1 or widths.pop() not in (n + 1, n + 2):
        return None
    columns = list(zip(*rows, strict=True))
    try:
        probs64 = np.array(columns[0], dtype=np.float64)
        backoffs64 = np.array(columns[n + 1], dtype=np.float64) if len(columns) == n + 2 else np.zeros(count)
        ids = np.empty((count, n), dtype=np.int32)
        for j in range(n):
            ids[:, j] = np.fromiter(map(index.__getitem__, columns[1 + j]), dtype=np.int32, count=count)
    except (ValueError, KeyError):
        return None
    if np.isnan(probs64).any() or (probs64 > 0).any() or not np.isfinite(backoffs64).all():
        return None
    return ids, np.maximum(probs64, -1e30).astype(np.float32), backoffs64.astype(np.float32)


def _parse_block(
    block: list[str],
    n: int,
    count: int,
    index: dict[str, int],
    vocab: list[str],
    first_lineno: int,
    name: str,
):
    rows = min(count, len(block))  # never trust the announced count for memory
    ids = np.empty((rows, n), dtype=np.int32)
    probs = np.empty(rows, dtype=np.float32)
    backoffs = np.zeros(rows, dtype=np.float32)
    lineno = first_lineno - 1

    def fail(msg: str) -> ModelError:
        return ModelError(f"{name}:{lineno}: {msg}")

    for i, line in enumerate(block):
        lineno = first_lineno + i
        fields = line.split()
        if i >= count:
            raise fail(f"more {n}-grams than the {count} announced")
        k = len(fields)
        if k != n + 1 and k != n + 2:
            if fields[0].startswith("\\"):
                raise fail(f"section ended after {i} of {count} {n}-grams")
            raise fail(f"a {n}-gram line needs {n + 1} or {n + 2} fields, got {k}")
        try:
            p = float(fields[0])
            if k == n + 2:
                backoffs[i] = float(fields[n + 1])
        except ValueError:
            raise fail(f"not a number in {line.strip()[:60]!r}") from None
        if math.isnan(p) or p > 0.0 or (k == n + 2 and not math.isfinite(backoffs[i])):
            raise fail(f"invalid log10 value in {line.strip()[:60]!r}")
        probs[i] = max(p, -1e30)  # -inf -> a large finite negative (float32-safe)
        if n == 1:
            w = fields[1]
            if w in index:
                raise fail(f"duplicate unigram {w!r}")
            index[w] = len(vocab)
            vocab.append(w)
            ids[i, 0] = index[w]
        else:
            try:
                for j in range(n):
                    ids[i, j] = index[fields[1 + j]]
            except KeyError as e:
                raise fail(f"word {e.args[0]!r} of a {n}-gram is not among the unigrams") from None
    if len(block) != count:
        lineno = first_lineno + len(block)
        raise fail(f"section has {len(block)} {n}-grams, the header announced {count}")
    return ids, probs, backoffs


def write_arpa(model: ArpaModel, path: Path | str) -> None:
    """Write ``model`` as ARPA text (gzip when the name ends in .gz), atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(tmp, "wt", encoding="utf-8") as f:  # type: ignore[operator]
        f.write("\\data\\\n")
        for n in range(1, model.order + 1):
            f.write(f"ngram {n}={len(model.log10probs[n])}\n")
        for n in range(1, model.order + 1):
            f.write(f"\n\\{n}-grams:\n")
            top = n == model.order
            vocab = model.vocab
            ids = model.ids[n].tolist()
            probs = model.log10probs[n].tolist()
            bos = model.log10backoffs[n].tolist()
            for row, p, b in zip(ids, probs, bos, strict=True):
                words = " ".join(vocab[w] for w in row)
                if top:
                    f.write(f"{p:.7g}\t{words}\n")
                else:
                    f.write(f"{p:.7g}\t{words}\t{b:.7g}\n")
        f.write("\n\\end\\\n")
        f.flush()
    with open(tmp, "rb") as raw:  # the compressed or plain bytes reach the disk before the rename
        os.fsync(raw.fileno())
    os.replace(tmp, path)
