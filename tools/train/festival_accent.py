"""Festival's diphone voices of other languages speaking English: new recorded speakers for the corpus.

Debian carries festival diphone voices recorded by Italian (``festvox-italp16k``, ``festvox-itapc16k``),
Czech (``festvox-czech-dita``, ``-krb``, ``-machac``, ``-ph``) and Finnish (``festvox-suopuhe-lj``, ``-mv``)
speakers, and a Hindi one (``festvox-hi-nsk``; part 16): nine people's voices, a child's among them, where
the English festival and flite voices are five. They have no English front end, so English is said in two
steps inside one festival process: ``kal_diphone`` (the US voice) turns the text into phones with durations
and an F0 contour, each of its phones is mapped to the nearest phone of the voice's language (``TABLES``: a
diphthong becomes two phones sharing its time, ``hh`` is dropped for Italian), and the voice's own diphones
say them to that timing, with the contour raised for a woman's or the child's voice (``VOICES``). The result
is English with an accent, from a recorded voice unlike any other here; a diphone the voice lacks is said as
its silence (festival's ``default_diphone``). Whisper tiny.en read six unseen home requests in each voice at
22-97% WER and the eleventh sitting's transducer at 16-69% (32 words a voice): hard voices, as the held-out
flite ``rms`` is. The Hindi voice (mapped onto IIT Madras's phone set: retroflex t and d, dental th, w said
as v) Whisper read without error in four requests, and the twelfth sitting's transducer got one of the four
right.

    apt-get install festival festvox-kallpc16k festvox-italp16k festvox-itapc16k festvox-czech-dita \\
        festvox-czech-krb festvox-czech-machac festvox-czech-ph festvox-suopuhe-lj festvox-suopuhe-mv \\
        festvox-hi-nsk

Licences (Debian's copyright files): Czech dita, krb, machac GPL-3.0-or-later, ph GPL-2.0-or-later; the
Italian voices GPL-2.0-or-later; the Finnish LGPL (version 2 or later); the Hindi GPL-2.0-or-later. The
audio they make is not covered; none of it ships.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

VOICES = {
    # voice: (phone table, F0 factor on kal's male contour)
    "lp_diphone": ("it", 1.8),
    "pc_diphone": ("it", 1.0),
    "czech_dita": ("cs", 1.8),
    "czech_krb": ("cs", 2.2),
    "czech_machac": ("cs", 1.0),
    "czech_ph": ("cs", 1.0),
    "suo_fi_lj_diphone": ("fi", 1.8),
    "hy_fi_mv_diphone": ("fi", 1.0),
    "hindi_NSK_diphone": ("hi", 1.0),
}
HINDI = "hindi_NSK_diphone"
"""part 16's voice alone (make_data.py); ``festvox-mr-nsk`` and ``festvox-te-nsk`` carry the same recordings"""
VALID = "czech_ph"
"""held out of training: the validation split ``valid_festival``, a voice of a recorded-voice engine"""

_COMMON = {
    "b": "b", "d": "d", "dh": "d", "f": "f", "g": "g", "k": "k", "l": "l", "m": "m", "n": "n", "p": "p",
    "r": "r", "s": "s", "t": "t", "th": "t", "v": "v", "z": "z", "aa": "a", "ah": "a", "uh": "u",
    "aw": "a u", "ax": "e", "er": "e r", "axr": "e r", "dx": "d", "el": "e l", "em": "e m", "en": "e n",
    "nx": "n", "pau": "#", "h#": "#", "brth": "#",
}
TABLES = {
    "it": {**_COMMON, "ae": "E", "ao": "O", "ay": "a i", "ch": "tS", "eh": "E", "ey": "e i", "hh": "", "hv": "",
           "ih": "i", "iy": "i", "jh": "dZ", "ng": "ng", "ow": "o u", "oy": "O i", "sh": "S", "uw": "u",
           "w": "w", "y": "j", "zh": "Z"},
    "cs": {**_COMMON, "ae": "e", "ao": "o", "ay": "a j", "ch": "c~", "eh": "e", "ey": "e j", "hh": "h", "hv": "h",
           "ih": "i", "iy": "i:", "jh": "dz~", "ng": "n*", "ow": "o u", "oy": "o j", "sh": "s~", "uw": "u:",
           "w": "u", "y": "j", "zh": "z~"},
    "fi": {**_COMMON, "ae": "e", "ao": "o", "ay": "a i", "ch": "t S", "eh": "e", "ey": "e i", "hh": "h", "hv": "h",
           "ih": "i", "iy": "i:", "jh": "d S", "ng": "N", "ow": "o u", "oy": "o i", "sh": "S", "th": "T",
           "uw": "u:", "w": "w", "y": "j", "z": "s", "zh": "S"},
    # IIT Madras's Hindi set: T D retroflex (Indian English t d), th dh dental, tth aspirated; no z, no ng
    "hi": {**_COMMON, "d": "D", "t": "T", "th": "tth", "dh": "dh", "dx": "D", "z": "j", "w": "v", "uh": "uh",
           "ae": "eh", "ao": "oo", "aw": "aw", "ay": "ay", "ax": "a", "er": "a r", "axr": "a r", "el": "a l",
           "em": "a m", "en": "a n", "ch": "ch", "eh": "eh", "ey": "eh", "hh": "h", "hv": "h", "ih": "ih",
           "iy": "iy", "jh": "j", "ng": "n g", "ow": "oh", "oy": "oo ih", "sh": "sh", "uw": "uw", "y": "y",
           "zh": "zh", "pau": "pau", "h#": "pau", "brth": "pau"},
}
"""kal_diphone's phones (US radio set) -> the voice language's: "" drops the phone, two split its time"""

SCHEME = r"""
(define (plan-phones segs table)
  (apply append
   (mapcar
    (lambda (s)
      (let ((new (cadr (assoc_string (car s) table))) (st (cadr s)) (en (car (cddr s))))
        (cond
         ((null new) nil)
         ((equal? (length new) 1) (list (list (car new) en)))
         (t (list (list (car new) (/ (+ st en) 2)) (list (cadr new) en))))))
    segs)))
(define (say-as text voice table k stretch out)
  (voice_kal_diphone)
  (Parameter.set 'Duration_Stretch stretch)
  (set! eu (eval (list 'Utterance 'Text text)))
  (utt.synth eu)
  (set! plan (plan-phones
              (mapcar (lambda (s) (list (item.name s) (item.feat s "segment_start") (item.feat s "end")))
                      (utt.relation.items eu 'Segment))
              table))
  (set! tgs nil)
  (mapcar (lambda (tg) (if (item.feat.present tg "f0")
                           (set! tgs (cons (list (item.feat tg "pos") (* k (item.feat tg "f0"))) tgs))))
          (utt.relation.leafs eu 'Target))
  (set! tgs (reverse tgs))
  (eval (list voice))
  (set! u (eval (list 'Utterance 'Phones (mapcar (lambda (p) (intern (car p))) plan))))
  (Initialize u)
  (Fixed_Prosody u)
  (mapcar (lambda (s p) (item.set_feat s "end" (cadr p))) (utt.relation.items u 'Segment) plan)
  (set! d0 (car (item.daughters (utt.relation.first u 'Target))))
  (set! dn (car (item.daughters (utt.relation.last u 'Target))))
  (item.set_feat d0 "f0" (cadr (car tgs)))
  (item.set_feat dn "f0" (* 0.85 (cadr (car (last tgs)))))
  (item.set_feat dn "pos" (cadr (car (last plan))))
  (mapcar (lambda (tp) (item.insert d0 (list "0" (list (list "pos" (car tp)) (list "f0" (cadr tp)))) 'after))
          (reverse tgs))
  (Wave_Synth u)
  (utt.save.wave u out 'riff))
"""
"""kal's plan, mapped (``plan-phones``), said by the voice: its segments get kal's end times and its
first segment carries kal's F0 targets (scaled by ``k``) between Fixed_Prosody's first and last"""


def available() -> list[str]:
    """The voices installed (festival and kal_diphone are needed too)."""
    root = Path("/usr/share/festival/voices")
    if not list(root.glob("*/kal_diphone")):
        return []
    return [v for v in VOICES if list(root.glob(f"*/{v}"))]


def scheme_table(language: str) -> str:
    rows = " ".join(f"({a} ({b}))" for a, b in TABLES[language].items())
    return f"'({rows})"


def script(voice: str, text: str, rate: float, pitch: float, out: Path) -> str:
    """The festival program that says ``text`` in ``voice`` to ``out``: ``rate`` divides kal's durations,
    ``pitch`` (0-1) sets the contour's factor to 0.8-1.2 times the voice's."""
    language, k = VOICES[voice]
    words = " ".join("".join(c for c in text.lower() if c.isalnum() or c in " '").split())
    if not words:
        raise ValueError(f"nothing to say in {text!r}")
    return (SCHEME + f'(say-as "{words}" \'voice_{voice} {scheme_table(language)} '
            f'{k * (0.8 + 0.4 * pitch):.3f} {1 / rate:.3f} "{out}")\n')


def synthesize(voice: str, text: str, rate: float = 1.0, pitch: float = 0.5, *, tmp: Path,
               sample_rate: int = 16000) -> np.ndarray:
    """``text`` said by ``voice`` as float32 samples at ``sample_rate``. Raises ``ValueError`` (no words;
    ``AudioError``: unreadable output), ``OSError`` (nothing said) or ``subprocess``'s errors."""
    from assistant.audio.io import read_audio

    out = tmp / "accent.wav"
    out.unlink(missing_ok=True)
    subprocess.run(["festival", "--pipe"], input=script(voice, text, rate, pitch, out), text=True,
                   capture_output=True, check=True, timeout=60)
    if not out.exists() or out.stat().st_size <= 44:
        raise OSError(f"festival/{voice} said nothing for {text!r}")
    return read_audio(out, sample_rate).samples
