"""The audio edge. Inside the process audio is float32 mono in [-1, 1] at ``audio.sample_rate``;
int16, bytes, other rates and channel layouts exist only here."""

from assistant.audio.io import AudioError, AudioFile, read_audio, write_audio
from assistant.audio.resample import Resampler, resample

__all__ = ["AudioError", "AudioFile", "Resampler", "read_audio", "resample", "write_audio"]
