"""Audio files and raw PCM: every common width, rate and layout, and clear errors for bad files."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from assistant.audio.io import AudioError, float_to_pcm16, pcm16_to_float, read_audio, write_audio
from assistant.audio.source import FileSource, RawPcmSource
from assistant.config import AudioConfig


def tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_widths_and_rates_read_as_16k_float(tmp_path, subtype, rate):
    p = tmp_path / f"t_{subtype}_{rate}.wav"
    sf.write(p, tone(rate), rate, subtype=subtype)
    a = read_audio(p, 16000)
    assert a.sample_rate == 16000 and a.source_rate == rate
    assert a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert abs(len(a.samples) - 8000) <= 2
    rms = np.sqrt(np.mean(a.samples[800:-800] ** 2))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.02  # 8-bit quantisation included


def test_stereo_is_mixed_down(tmp_path):
    p = tmp_path / "stereo.wav"
    left = tone(16000)
    sf.write(p, np.stack([left, np.zeros_like(left)], axis=1), 16000)
    a = read_audio(p)
    assert a.source_channels == 2
    np.testing.assert_allclose(a.samples, left / 2, atol=1e-4)


def test_write_is_atomic_and_round_trips(tmp_path):
    p = tmp_path / "out" / "reply.wav"
    x = tone(22050)
    write_audio(p, x, 22050)
    assert [f.name for f in p.parent.iterdir()] == ["reply.wav"]  # no temp file left behind
    back = read_audio(p, None)
    assert back.sample_rate == 22050
    np.testing.assert_allclose(back.samples, x, atol=1e-4)
    with pytest.raises(AudioError, match="NaN"):
        write_audio(p, np.array([np.nan], np.float32), 16000)
    np.testing.assert_allclose(read_audio(p, None).samples, x, atol=1e-4)  # old file intact


def _wav_header(num_bytes: int) -> bytes:
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + num_bytes) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", num_bytes)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a readable audio file"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not a readable audio file"),  # truncated header
        (_wav_header(0), "no audio samples"),  # 0-length
        (b"this is not audio at all" * 10, "not a readable audio file"),
    ],
    ids=["empty", "truncated-header", "zero-length", "garbage"],
)
def test_bad_files_are_clear_errors(tmp_path, content, message):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_audio(p)


def test_truncated_data_reads_what_is_there(tmp_path):
    """A header promising more data than the file has (a recording cut off) yields the samples present."""
    pcm = float_to_pcm16(tone(16000, 0.25))
    p = tmp_path / "cut.wav"
    p.write_bytes(_wav_header(len(pcm) * 4) + pcm)
    a = read_audio(p)
    assert abs(len(a.samples) - 4000) <= 1


def test_missing_file_and_nan_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_audio(tmp_path / "nope.wav")
    p = tmp_path / "nan.wav"
    sf.write(p, np.array([0.0, np.nan, np.inf], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        read_audio(p)


def test_too_long_is_refused(tmp_path):
    p = tmp_path / "long.wav"
    sf.write(p, np.zeros(16000 * 3, np.float32), 16000)
    with pytest.raises(AudioError, match="longer than"):
        read_audio(p, max_s=2.0)


def test_raw_pcm_source_converts_and_resamples():
    x = tone(8000, 1.0)
    src = RawPcmSource(io.BytesIO(float_to_pcm16(x) + b"\x01"), AudioConfig(), rate=8000)
    out = np.concatenate(list(src.chunks()))
    assert abs(len(out) - 16000) <= 2
    assert abs(np.sqrt(np.mean(out[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.01


def test_pcm_helpers():
    with pytest.raises(AudioError, match="odd number"):
        pcm16_to_float(b"\x00\x01\x02")
    x = np.array([-1.0, 0.0, 0.5], np.float32)
    np.testing.assert_allclose(pcm16_to_float(float_to_pcm16(x)), x, atol=1e-4)


def test_file_source_chunks(tmp_path):
    p = tmp_path / "t.wav"
    sf.write(p, tone(16000, 0.1), 16000)
    chunks = list(FileSource(str(p), AudioConfig(chunk_ms=20)).chunks())
    assert [len(c) for c in chunks] == [320] * 5


def test_missing_audio_device_is_a_clear_error():
    from assistant.audio.source import DeviceSource

    with pytest.raises(AudioError, match="audio input"):
        DeviceSource(AudioConfig(input_device="no-such-device-xyz"))
