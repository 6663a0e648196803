"""SymbolTable: ``tokens.txt`` of the sherpa-onnx / icefall export, and BPE pieces joined into words.

Each line is ``<piece> <id>``; ``<blk>`` is id 0. Pieces follow the sentencepiece convention: a piece that
starts with ``▁`` (U+2581) begins a new word. Pieces written ``<...>`` (``<unk>``, ``<sos/eos>``) are
control symbols and never appear in text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.models import ModelError

WORD_START = "\u2581"


@dataclass(frozen=True, slots=True)
class SymbolTable:
    pieces: tuple[str, ...]
    """piece of each id (ids are dense: 0 .. len - 1)"""
    blank_id: int
    unk_id: int
    """id of ``<unk>``, or -1 when the table has none"""

    @classmethod
    def load(cls, path: Path | str) -> SymbolTable:
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise ModelError(f"{path}: tokens file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ModelError(f"{path}: cannot read tokens file: {e}") from None
        by_id: dict[int, str] = {}
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fields = line.rsplit(maxsplit=1)
            if len(fields) == 1 and line.startswith(" ") and fields[0].isdigit():
                fields = [" ", fields[0]]  # a piece that is a plain space
            if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                raise ModelError(f"{path}:{n}: expected '<piece> <id>', got {line!r}")
            piece, idx = fields[0], int(fields[1])
            if idx < 0 or idx in by_id:
                raise ModelError(f"{path}:{n}: id {idx} is negative or repeated")
            by_id[idx] = piece
        if not by_id:
            raise ModelError(f"{path}: tokens file is empty")
        if sorted(by_id) != list(range(len(by_id))):
            raise ModelError(f"{path}: ids are not 0 .. {len(by_id) - 1} without gaps")
        pieces = tuple(by_id[i] for i in range(len(by_id)))
        if pieces[0] not in ("<blk>", "<blank>", "<eps>"):
            raise ModelError(f"{path}: id 0 must be the blank (<blk>), got {pieces[0]!r}")
        unk = pieces.index("<unk>") if "<unk>" in pieces else -1
        return cls(pieces, 0, unk)

    def __len__(self) -> int:
        return len(self.pieces)

    def is_control(self, token: int) -> bool:
        p = self.pieces[token]
        return len(p) > 2 and p.startswith("<") and p.endswith(">")

    def starts_word(self, token: int) -> bool:
        return self.pieces[token].startswith(WORD_START)

    def words(self, tokens: Sequence[int]) -> list[str]:
        """Pieces joined into words (a ``▁`` piece begins a word; control symbols are dropped)."""
        return [w for w, _, _ in self.word_spans(tokens)]

    def word_spans(self, tokens: Sequence[int]) -> list[tuple[str, int, int]]:
        """``(word, first index, last index)`` into ``tokens`` for each word."""
        out: list[tuple[str, int, int]] = []
        current, first, last = "", -1, -1
        for i, t in enumerate(tokens):
            if self.is_control(t):
                continue
            piece = self.pieces[t]
            if piece.startswith(WORD_START) and current:
                out.append((current, first, last))
                current = ""
            if not current:
                first = i
            current += piece.lstrip(WORD_START) if not current else piece
            last = i
            if not current:  # a bare "▁"
                first = -1
        if current:
            out.append((current, first, last))
        return out

    def text(self, tokens: Sequence[int]) -> str:
        return " ".join(self.words(tokens))

    def encode(self, phrase: str) -> list[int]:
        """A phrase as pieces by greedy longest match per word (``▁word`` first). For hotwords: the
        export ships no BPE model, so this is the segmentation the token table itself allows."""
        index = {p: i for i, p in enumerate(self.pieces) if not self.is_control(i) and i != self.blank_id}
        longest = max(len(p) for p in index)
        out: list[int] = []
        for word in phrase.lower().split():
            rest, first = word, True
            while rest:
                for n in range(min(len(rest) + (1 if first else 0), longest), 0, -1):
                    cand = (WORD_START + rest[: n - 1]) if first else rest[:n]
                    if cand in index and cand != WORD_START:
                        out.append(index[cand])
                        rest = rest[n - 1 :] if first else rest[n:]
                        break
                else:
                    if first and WORD_START in index:
                        out.append(index[WORD_START])
                        first = False
                        continue
                    raise ValueError(f"cannot spell {word!r} with the model's tokens")
                first = False
        return out
