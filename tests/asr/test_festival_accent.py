"""tools/train/festival_accent.py: festival's Italian, Czech and Finnish diphone voices speaking English
(training data only). The phone tables are checked everywhere; against festival's own phone sets, and
the voices saying a request, only where festival and those voices are installed."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tools.train import festival_accent

REQUEST = "set a timer for five minutes"
installed = festival_accent.available() if shutil.which("festival") else []
needs_voices = pytest.mark.skipif(not installed, reason="festival and its festvox voices not installed")


def test_every_table_maps_the_same_english_phones_and_every_voice_has_a_table():
    keys = {lang: set(t) for lang, t in festival_accent.TABLES.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys
    assert "pau" in keys["it"] and all(len(p.split()) <= 2 for t in festival_accent.TABLES.values()
                                       for p in t.values())
    assert {lang for lang, _ in festival_accent.VOICES.values()} == set(festival_accent.TABLES)
    assert festival_accent.VALID in festival_accent.VOICES


def test_script_says_only_words_and_scales_time_and_pitch(tmp_path):
    s = festival_accent.script("czech_dita", 'Turn on the "kitchen" light; (now)!', 1.25, 1.0, tmp_path / "a.wav")
    call = s.splitlines()[-1]
    assert '(say-as "turn on the kitchen light now" \'voice_czech_dita' in call
    assert call.endswith(f' 2.160 0.800 "{tmp_path / "a.wav"}")')  # F0 1.8 x 1.2; durations / 1.25
    with pytest.raises(ValueError, match="nothing to say"):
        festival_accent.script("lp_diphone", "?!", 1.0, 0.5, tmp_path / "b.wav")


def _phone_set(voice: str) -> set[str]:
    out = subprocess.run(["festival", "--pipe"], text=True, capture_output=True, timeout=60, check=True,
                         input=f"(voice_{voice}) (print (mapcar car (cadr (assoc 'phones "
                               f"(PhoneSet.description '(phones))))))").stdout
    return set(out.split("(")[-1].split(")")[0].split())


@needs_voices
def test_the_tables_map_kals_phones_into_each_voices_phone_set():
    english = _phone_set("kal_diphone")
    assert set(festival_accent.TABLES["it"]) == english
    for lang in festival_accent.TABLES:
        voice = next((v for v in installed if festival_accent.VOICES[v][0] == lang), None)
        if voice is None:
            continue
        target = _phone_set(voice)
        mapped = {p for ps in festival_accent.TABLES[lang].values() for p in ps.split()}
        assert mapped <= target, (voice, mapped - target)


@needs_voices
def test_each_installed_voice_says_a_request_at_the_rate_asked(tmp_path):
    for voice in installed:
        a = festival_accent.synthesize(voice, REQUEST, 1.0, 0.5, tmp=tmp_path)
        fast = festival_accent.synthesize(voice, REQUEST, 1.3, 0.5, tmp=tmp_path)
        assert a.dtype == np.float32 and np.abs(a).max() > 0.05, voice
        assert 1.0 < len(a) / 16000 < 4.0, voice
        assert len(fast) < 0.9 * len(a), voice
