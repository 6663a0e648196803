"""A speech-to-text provider for the satellite tests (tests/home/test_satellite.py).

Home Assistant 2024.3.3's demo STT (``stt.demo_stt``) accepts only stereo audio, and a Wyoming satellite's
audio always reaches the pipeline as 16 kHz 16-bit mono, so the demo's cannot serve a satellite. This one
is the demo's for mono: like it, it returns "Turn the Kitchen Lights on" whatever it hears (or the text of
``<config>/satellite_stt/transcript.txt``), but only when it heard at least a quarter of a second of
audio. It keeps what it heard, as ``<config>/satellite_stt/request-N.wav``, so the tests can check the
audio the device streamed, and waits ``<config>/satellite_stt/delay_s`` seconds first if that file exists
(a slow Home Assistant).
"""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.helpers.discovery import async_load_platform

DOMAIN = "satellite_stt"


async def async_setup(hass, config) -> bool:
    """``satellite_stt:`` in configuration.yaml: the provider, as the demo sets up its TTS (STT takes no
    platforms from YAML)."""
    hass.async_create_task(async_load_platform(hass, Platform.STT, DOMAIN, {}, config))
    return True
