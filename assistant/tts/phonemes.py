"""Text -> phonemes for Piper voices, and phonemes -> the voice's ids.

Piper voices are trained on espeak-ng's IPA output, so espeak-ng is the phonemizer. The library and
its data come from the ``espeakng-loader`` wheel (libespeak-ng 1.52, no other dependency), called
through ctypes. espeak-ng's ``espeak_TextToPhonemes`` returns one clause per call without the
punctuation that ended it, so clauses are cut here first and their punctuation put back the way
Piper's own phonemizer does (a voice was trained with it): "," ";" ":" followed by a space, the
sentence's final "." "?" "!" kept. Language-switch marks like "(en)" are dropped; the result is
decomposed (NFD) into code points.

A voice whose sidecar says ``phoneme_type = "text"`` takes the text's code points directly.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["EspeakPhonemizer", "PhonemeError", "phonemes_to_ids", "text_phonemes"]

BOS, EOS, PAD = "^", "$", "_"
_CLAUSE = re.compile(r"([^,;:.!?]+)([,;:.!?]*)")
_LANG_FLAG = re.compile(r"\([^)]+\)")

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_PHONEMES_IPA = 0x02


class PhonemeError(RuntimeError):
    """espeak-ng is unavailable or refused the voice."""


class _Espeak:
    """The process-wide espeak-ng library (it keeps global state, so one instance and a lock)."""

    _instance: _Espeak | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise PhonemeError("espeak-ng is needed for Piper voices: pip install espeakng-loader") from None
        lib_path, data_path = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise PhonemeError(f"cannot load espeak-ng from {lib_path}: {e}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(Path(data_path)).encode(), 0)
        if rate <= 0:
            raise PhonemeError(f"espeak-ng failed to initialise with data {data_path} (code {rate})")
        self.lib = lib
        self.lock = threading.Lock()
        self.voice = ""

    @classmethod
    def get(cls) -> _Espeak:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def clause_phonemes(self, voice: str, text: str) -> str:
        with self.lock:
            if voice != self.voice:
                if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise PhonemeError(f"espeak-ng has no voice {voice!r}")
                self.voice = voice
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            ptr = ctypes.c_void_p(ctypes.addressof(buf))
            parts = []
            while ptr.value:
                out = self.lib.espeak_TextToPhonemes(
                    ctypes.byref(ptr), _ESPEAK_CHARS_UTF8, _ESPEAK_PHONEMES_IPA
                )
                if out:
                    parts.append(out.decode("utf-8"))
            return " ".join(p.strip() for p in parts if p.strip())


class EspeakPhonemizer:
    """``phonemize(text) -> list[str]``: the phonemes of one sentence, as Piper voices expect them."""

    def __init__(self, voice: str) -> None:
        self.voice = voice
        self._espeak = _Espeak.get()
        self._espeak.clause_phonemes(voice, "")  # fail now on an unknown voice

    def phonemize(self, sentence: str) -> list[str]:
        out = ""
        for m in _CLAUSE.finditer(sentence):
            clause, punct = m.group(1), m.group(2)
            if not clause.strip():
                continue
            phonemes = _LANG_FLAG.sub("", self._espeak.clause_phonemes(self.voice, clause.strip()))
            terminator = punct[:1] if punct else ""
            out += phonemes + terminator
            if terminator in (",", ":", ";"):
                out += " "
        return list(unicodedata.normalize("NFD", out.rstrip(" ") if out.endswith(" ") else out))


def text_phonemes(sentence: str) -> list[str]:
    """Voices with ``phoneme_type = "text"``: the code points themselves."""
    return list(unicodedata.normalize("NFD", sentence))


def phonemes_to_ids(phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]) -> list[int]:
    """Piper's layout: BOS, PAD, then each phoneme followed by PAD, then EOS; unknown phonemes dropped."""
    ids = [*id_map[BOS], *id_map[PAD]]
    for p in phonemes:
        mapped = id_map.get(p)
        if mapped is None:
            continue
        ids.extend(mapped)
        ids.extend(id_map[PAD])
    ids.extend(id_map[EOS])
    return ids
