"""The reference runtime's side of a parity check: sherpa-onnx decoding a transducer folder (the sherpa
export: encoder, decoder, joiner, tokens.txt) and our engine's best path in the same notation. Used by the
tests and by tools/train/evaluate.py; callers that may lack sherpa-onnx check for it first."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def sherpa_tokens(model_dir: Path, samples: np.ndarray, search: str = "greedy", encoder: str = "encoder.onnx",
                  blank_penalty: float = 0.0, beam_size: int = 4) -> list[str]:
    """sherpa-onnx's pieces for the whole of ``samples`` (16 kHz float32); ``beam_size`` is its
    ``max_active_paths`` (modified beam search)."""
    import sherpa_onnx

    rec = sherpa_onnx.OnlineRecognizer.from_transducer(
        tokens=str(model_dir / "tokens.txt"),
        encoder=str(model_dir / encoder),
        decoder=str(model_dir / "decoder.onnx"),
        joiner=str(model_dir / "joiner.onnx"),
        num_threads=1,
        sample_rate=16000,
        feature_dim=80,
        provider="cpu",
        decoding_method="greedy_search" if search == "greedy" else "modified_beam_search",
        blank_penalty=blank_penalty,
        max_active_paths=beam_size,
    )
    s = rec.create_stream()
    s.accept_waveform(16000, samples)
    s.input_finished()
    while rec.is_ready(s):
        rec.decode_stream(s)
    return list(rec.get_result_all(s).tokens)


def our_pieces(model, stream) -> list[str]:
    """Our stream's best path as sherpa-onnx reports it ("▁" shown as a space)."""
    return [model.symbols.pieces[t].replace("\u2581", " ") for t in stream._best_tokens()]
