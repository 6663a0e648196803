"""The satellite tests' speech-to-text provider (see __init__.py)."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterable
from pathlib import Path

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    Provider,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
)

DEFAULT_TRANSCRIPT = "Turn the Kitchen Lights on"
MIN_AUDIO_BYTES = 16000 * 2 // 4


async def async_get_engine(hass, config, discovery_info=None):
    return SatelliteTestProvider(Path(hass.config.path("satellite_stt")))


class SatelliteTestProvider(Provider):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def supported_languages(self) -> list[str]:
        return ["en"]

    @property
    def supported_formats(self) -> list[AudioFormats]:
        return [AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[AudioCodecs]:
        return [AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[AudioBitRates]:
        return [AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[AudioSampleRates]:
        return [AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[AudioChannels]:
        return [AudioChannels.CHANNEL_MONO]

    async def async_process_audio_stream(self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
                                         ) -> SpeechResult:
        audio = bytearray()
        async for chunk in stream:
            audio += chunk
        directory = self.directory
        delay = directory / "delay_s"
        transcript = directory / "transcript.txt"
        await self.hass.async_add_executor_job(self._keep, bytes(audio))
        if delay.exists():
            await asyncio.sleep(float(delay.read_text()))
        if len(audio) < MIN_AUDIO_BYTES:
            return SpeechResult(None, SpeechResultState.ERROR)
        text = transcript.read_text().strip() if transcript.exists() else DEFAULT_TRANSCRIPT
        return SpeechResult(text, SpeechResultState.SUCCESS)

    def _keep(self, audio: bytes) -> None:
        self.directory.mkdir(exist_ok=True)
        n = len(list(self.directory.glob("request-*.wav")))
        with wave.open(str(self.directory / f"request-{n}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(audio)
