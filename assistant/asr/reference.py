"""The reference runtime's side of a parity check: sherpa-onnx decoding a transducer folder (the sherpa
export: encoder, decoder, joiner, tokens.txt), its front end (kaldi-native-fbank), and our engine's best
path in the same notation, over the chunks sherpa-onnx decodes. Used by the tests and by
tools/train/evaluate.py; callers that may lack sherpa-onnx or kaldi-native-fbank check for them first."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.config import FrontendConfig


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


def kaldi_fbank(samples: np.ndarray, cfg: FrontendConfig, sample_rate: int = 16000) -> np.ndarray:
    """kaldi-native-fbank's frames for the whole of ``samples``: sherpa-onnx's front end."""
    import kaldi_native_fbank as knf

    o = knf.FbankOptions()
    o.frame_opts.samp_freq = sample_rate
    o.frame_opts.dither = 0.0
    o.frame_opts.snip_edges = cfg.snip_edges
    o.frame_opts.frame_length_ms = cfg.frame_length_ms
    o.frame_opts.frame_shift_ms = cfg.frame_shift_ms
    o.frame_opts.window_type = cfg.window.value
    o.frame_opts.preemph_coeff = cfg.preemphasis
    o.frame_opts.remove_dc_offset = cfg.remove_dc_offset
    o.mel_opts.num_bins = cfg.num_mel_bins
    o.mel_opts.low_freq = cfg.low_freq_hz
    o.mel_opts.high_freq = cfg.high_freq_hz
    o.use_energy = cfg.use_energy
    f = knf.OnlineFbank(o)
    f.accept_waveform(sample_rate, samples.tolist())
    f.input_finished()
    return np.stack([f.get_frame(i) for i in range(f.num_frames_ready)]).astype(np.float32)


def our_pieces(model, stream) -> list[str]:
    """Our stream's best path as sherpa-onnx reports it ("▁" shown as a space)."""
    return [model.symbols.pieces[t].replace("\u2581", " ") for t in stream._best_tokens()]


def decode_as_sherpa(model, frames: np.ndarray) -> list[str]:
    """Our pieces over the chunks sherpa-onnx decodes of ``frames`` (all of a recording's, input finished).

    Both decode whole chunks only (the tail is not padded), but sherpa-onnx starts a chunk once *more*
    than ``T`` frames past the processed ones are ready (``IsReady``: processed + T < ready), our stream
    once ``T`` are. So the last frame is held back: where the frame count falls exactly on a chunk
    boundary (T + k * decode_chunk_len), sherpa-onnx leaves that last chunk undecoded, and so do we."""
    stream = model.stream()
    stream.feed(frames[:-1])
    return our_pieces(model, stream)
