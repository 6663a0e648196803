#!/usr/bin/env python3
"""Measure the exported streaming transducer: WER, fusion, biasing, real speech beside Whisper, two-pass
latency, real-time factor on one core, and greedy parity with sherpa-onnx.

    python -m tools.train.evaluate [--model models/asr/home-lstm-en] [--data var/asr-data]
        [--out tools/train/results.json] [--limit N] [--prompts 120] [--skip-whisper]

Sets:
* ``heldout``: OUT/test.jsonl of make_data.py: voices never heard in training (espeak-ng en-us and
  en-gb-x-rp in every variant, every +f3 variant, flite rms); half the texts were seen in training, half
  not (reported separately).
* ``real``: recorded human speech, never trained on: pocketsphinx LibriVox (5) and cards (5), and
  ``--prompts`` Asterisk prompts (evenly spaced, 8 kHz resampled to 16 kHz).

Decoding configurations: greedy; modified beam search (``--beam``, the pipeline's beam size by default)
as sherpa-onnx searches, and at the model's softmax temperature; beam + shallow fusion with the domain LM
the pipeline builds (``[asr] lm = "domain"``: assistant/lm/domain.py); beam + fusion + hotword biasing of
the home's names (``home_hotwords``, assistant/data/home.toml): the shipped streaming configuration. The
temperature (on beam search alone, then again with the fusion chosen), the fusion weight and word bonus
and the hotword boost per token are chosen on make_data.py's validation voices (``--dev`` 150 of ``valid``,
``--dev-kokoro`` 50, ``--dev-festival`` 100; train.py's training-voice dev split where there are none),
or given (``--decoding``, chosen on the pooled validation voices with decode_eval.py), never on the test
set; they, the internal LM subtraction (``ilm_weight``) and the two-pass weight and margin (below) are
``report["decoding"]``, the ``decoding`` table of the model's encoder entry in ``models/manifest.toml``
(what the pipeline takes where the config leaves them out).

Two-pass (this model streaming, Whisper final; ``two_pass``): Whisper tiny.en as the pipeline runs it
(the shipped config: int8, beam 5, prompt, domain LM rescoring) alone and after this model in its
shipped configuration (Whisper's n-best re-ranked by agreement with the streaming transcript, with and
without that transcript, scored by Whisper, among the candidates), on every set; the end of speech to
final transcript latency is the stream's ``finish()`` plus Whisper's decode (with the candidate) and ranking.
RTF: streaming decode time (features + encoder + search, one ONNX thread) / audio duration.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from assistant.asr.corpora import asterisk, cards, librivox, wer
from assistant.asr.transducer import GENERIC_DECODING, TransducerModel
from assistant.audio.io import read_audio
from assistant.config import RuntimeConfig, SearchMethod, TransducerConfig
from assistant.frontend.fbank import Fbank

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

RT = RuntimeConfig(num_threads=1)


def model_cfg(d: Path, **kw) -> TransducerConfig:
    kw.setdefault("search", SearchMethod.GREEDY)
    return TransducerConfig(encoder=d / "encoder.int8.onnx", decoder=d / "decoder.onnx", joiner=d / "joiner.onnx",
                            tokens=d / "tokens.txt", **kw)


def decode(model: TransducerModel, samples: np.ndarray) -> tuple[str, float, float]:
    """Streaming decode in 100 ms pieces, as the CLI does: text, decode seconds, finish() seconds."""
    t0 = time.perf_counter()
    fb = Fbank(model.feature_config)
    s = model.stream()
    for i in range(0, len(samples), 1600):
        s.feed(fb.feed(samples[i : i + 1600]))
    s.feed(fb.finish())
    t1 = time.perf_counter()
    hyp = s.finish()[0]
    t2 = time.perf_counter()
    return hyp.text, t2 - t0, t2 - t1


def run_set(model: TransducerModel, items: list[tuple[np.ndarray, str]]) -> dict:
    hyps, t_dec, dur = [], 0.0, 0.0
    for samples, _ in items:
        text, dt, _ = decode(model, samples)
        hyps.append(text)
        t_dec += dt
        dur += len(samples) / 16000
    refs = [r for _, r in items]
    return {"wer": round(wer(refs, hyps), 4), "rtf": round(t_dec / dur, 4), "hyps": hyps}


def tuning_rows(data: Path, dev: int, dev_kokoro: int, dev_festival: int) -> tuple[list[dict], str]:
    """The utterances decoding settings are chosen on, and their description: ``dev`` evenly spaced of
    make_data.py's ``valid``, the first ``dev_kokoro`` of ``valid_kokoro`` and ``dev_festival`` evenly
    spaced of ``valid_festival`` (voices in neither training nor test), where made; else train.py's
    training-voice dev split."""
    def split(name: str) -> list[dict]:
        path = data / f"{name}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    if not (data / "valid.jsonl").exists():
        from tools.train.train import dev_split  # torch: only here

        train_rows = [r for name in ("train", "train2", "train3") for r in split(name)]
        dev_all = dev_split(train_rows)[0]
        return [train_rows[i] for i in dev_all[:: max(1, len(dev_all) // dev)][:dev]], "training-voice dev"
    rows = split("valid")
    rows = rows[:: max(1, len(rows) // dev)][:dev]
    said = f"valid ({len(rows)})"
    kokoro = split("valid_kokoro")[:dev_kokoro]  # a voice of another engine
    festival = split("valid_festival")  # a recorded voice's, accented
    festival = festival[:: max(1, len(festival) // max(1, dev_festival))][:dev_festival]
    for name, more in (("valid_kokoro", kokoro), ("valid_festival", festival)):
        if more:
            rows += more
            said += f" + {name} ({len(more)})"
    return rows, said


BEAM = TransducerConfig().beam_size
"""the pipeline's beam size ([asr.transducer] beam_size): what the model's decoding settings are chosen at"""


def beam_model(model: Path, lm, hot: tuple[str, ...], beam_size: int = BEAM, **kw) -> TransducerModel:
    """Modified beam search with the domain LM and, where the boost is > 0, the home's names."""
    return TransducerModel.load(model_cfg(model, search=SearchMethod.BEAM, beam_size=beam_size, **kw), RT, lm=lm,
                                extra_hotwords=hot if kw.get("hotword_boost_per_token") else ())


ILM_WEIGHTS = (0.0,)
"""the internal LM subtraction weights tune_decoding tries: none by default. Choosing among 0, 0.1, 0.2, 0.3
and 0.5 there (and the fusion again with it) read worse on the pooled validation voices than not (10.15%
against 10.04%): 300 tuning utterances are too few for a fourth setting. decode_eval.py --ilm-weights
tries others; a weight chosen on the pooled voices did not hold on a fresh sample (tools/train/README.md)"""


def tune_decoding(model: Path, dev: list, lm, hot: tuple[str, ...], say, beam_size: int = BEAM,
                  ilm_weights: tuple[float, ...] = ILM_WEIGHTS) -> tuple[dict, list[dict]]:
    """The model's own decoding settings (its manifest entry's ``decoding``, less the two-pass ones), chosen
    on ``dev``: the softmax temperature of beam search alone, then the fusion weight and word bonus at it, the
    temperature again with that fusion, the internal LM subtraction with it (and where one is chosen, the
    fusion again with that), then the hotword boost. Returns them and every setting tried."""
    tuning: list[dict] = []
    tried: dict[tuple, float] = {}

    def dev_wer(**kw) -> float:
        """WER on the tuning set, each setting decoded once"""
        key = tuple(sorted(kw.items()))
        if key not in tried:
            tried[key] = run_set(beam_model(model, lm, hot, beam_size, **kw), dev)["wer"]
            tuning.append({**kw, "dev_wer": tried[key]})
            say(f"dev beam {kw}: WER {tried[key]:.4f}")
        return tried[key]

    # icefall's modified_beam_search(temperature=); sherpa-onnx searches at 1
    temps = (1.0, 1.25, 1.5, 2.0)
    t = min(temps, key=lambda x: (dev_wer(temperature=x, lm_weight=0.0), x))
    # the optimum runs along a diagonal (more weight wants more bonus), so the grid reaches past it both ways
    grid = [(w, b) for w in (0.1, 0.2, 0.3, 0.5, 0.7) for b in (0.5, 1.0, 2.0, 3.0)]
    w, bonus = min(grid, key=lambda g: (dev_wer(temperature=t, lm_weight=g[0], lm_word_bonus=g[1]), g))
    t = min(temps, key=lambda x: (dev_wer(temperature=x, lm_weight=w, lm_word_bonus=bonus), x))
    # icefall's ILME: the prediction network's own LM taken off, so the domain LM is not stacked on the
    # training text's statistics; a weight of 0 is left out of the settings (decoded already)
    ilms = {x: {"ilm_weight": x} if x else {} for x in ilm_weights}
    ilm = min(ilms, key=lambda x: (dev_wer(temperature=t, lm_weight=w, lm_word_bonus=bonus, **ilms[x]), x))
    if ilm:  # taking the internal LM off moves the fusion's optimum
        w, bonus = min(grid, key=lambda g: (dev_wer(temperature=t, lm_weight=g[0], lm_word_bonus=g[1],
                                                    **ilms[ilm]), g))
    # the hotword boost per token: BPE-80 pieces are short (1.4 letters), so a name is many tokens and
    # icefall's usual 1.5-2 per token (for BPE-500) may be too much here; 0: the names are not biased at all
    fused = {"temperature": t, "lm_weight": w, "lm_word_bonus": bonus, **ilms[ilm]}  # a boost of 0: decoded
    boosts = {x: {"hotword_boost_per_token": x} if x else {} for x in (0.0, 0.25, 0.5, 1.0)}
    boost = min(boosts, key=lambda x: (dev_wer(**fused, **boosts[x]), x))
    return {"lm_weight": w, "lm_word_bonus": bonus, "hotword_boost_per_token": boost, "temperature": t,
            "ilm_weight": ilm}, tuning


def two_pass(report: dict, streaming: TransducerModel, dev, test, first_pass, real, real_audio, real_tuning,
             say) -> None:
    """Whisper tiny.en as the pipeline runs it (the shipped config: beam 5, prompt, domain LM rescoring)
    alone, and as the final pass after this model: its n-best re-ranked by agreement with the streaming
    transcript (``[asr.whisper] first_pass_weight``), and with that transcript, scored by Whisper, as a
    candidate too (``first_pass_candidate``, within ``first_pass_margin``, agreeing by its own
    ``first_pass_candidate_weight``). Each mode's settings are chosen on the validation split: the weight
    without the candidate (the shipped default), then the margin and weight with it, under one
    constraint: on 60 real Asterisk prompts that are not among those reported (the first pass mishears
    real speech), the final may not be worse than Whisper alone. All three go into the model's
    ``decoding`` table. End of speech to final transcript per file (the stream's ``finish()`` + Whisper
    with the candidate + ranking); partials while speaking."""
    from assistant.asr.whisper import WhisperModel, choose
    from assistant.config import load_config
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm
    from assistant.models import ModelRegistry

    cfg = load_config()
    wcfg = cfg.asr.whisper
    whisper = WhisperModel.load(wcfg, RT, ModelRegistry.load())
    dlm = load_word_lm(cfg.asr.lm, load_home(cfg.home))
    whisper.transcribe(test[0][0])

    def nbests(audio, first):
        """Whisper's own n-best and the first pass's transcript as it scores it, timed (the pipeline's path)"""
        own, scored, secs = [], [], []
        for a, f in zip(audio, first, strict=True):
            t0 = time.perf_counter()
            o, c = whisper.nbest(a, (f,) if f.strip() else ())
            secs.append(time.perf_counter() - t0)
            own.append(o)
            scored.append(c)
        return (own, scored), secs

    def finals(nb, first, weight, margin=None):
        """final texts: agreement ``weight``; the candidate within ``margin`` (None: no candidate)"""
        c = dataclasses.replace(wcfg, first_pass_weight=weight, first_pass_margin=margin or 0.0,
                                first_pass_candidate=margin is not None, first_pass_candidate_weight=weight)
        return [choose(o, dlm, c, f, s if margin is not None else ())[0].text
                for o, s, f in zip(*nb, first, strict=True)]

    dev_first = first_pass["valid"]
    dev_nb, _ = nbests([a for a, _ in dev], dev_first)
    dev_refs = [t for _, t in dev]
    tune = [(read_audio(p).samples, t) for p, t in real_tuning]
    tune_first = run_set(streaming, tune)["hyps"]
    tune_nb, _ = nbests([a for a, _ in tune], tune_first)
    tune_refs = [t for _, t in tune]
    tuning = []
    for margin in (None, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0):
        for weight in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0):
            r = {"first_pass_margin": margin, "first_pass_weight": weight,
                 "valid_wer": round(wer(dev_refs, finals(dev_nb, dev_first, weight, margin)), 4),
                 "real_wer": round(wer(tune_refs, finals(tune_nb, tune_first, weight, margin)), 4)}
            tuning.append(r)
            say(f"two-pass tuning {r}")
    # the final may not be worse than Whisper alone on real speech (the first pass mishears it)
    whisper_alone = tuning[0]["real_wer"]  # no candidate, weight 0
    allowed = [r for r in tuning if r["real_wer"] <= whisper_alone]
    alone = min((r for r in allowed if r["first_pass_margin"] is None),
                key=lambda r: (r["valid_wer"], r["first_pass_weight"]))
    weight = alone["first_pass_weight"]
    with_candidate = [r for r in allowed if r["first_pass_margin"] is not None]
    # none allowed: a margin of 0 (the candidate joins only where Whisper scores it above its own best)
    best = min(with_candidate, key=lambda r: (r["valid_wer"], r["first_pass_margin"], r["first_pass_weight"])) \
        if with_candidate else {"first_pass_margin": 0.0, "first_pass_weight": weight}
    margin, c_weight = best["first_pass_margin"], best["first_pass_weight"]
    report["decoding"].update(first_pass_weight=weight, first_pass_margin=margin,
                              first_pass_candidate_weight=c_weight)

    sets = {"heldout": ([a for a, _ in test], [t for _, t in test], first_pass["heldout"])}
    for name, items in real.items():
        sets[name] = (real_audio[name], [t for _, t in items], first_pass[name])
    out: dict = {"tuning": tuning, "real_tuning_set": f"{len(tune)} Asterisk prompts (not among those reported)",
                 "first_pass_weight": weight, "first_pass_margin": margin,
                 "first_pass_candidate_weight": c_weight}
    for name, (audio, refs, first) in sets.items():
        nb, secs = nbests(audio, first)
        fin = [decode(streaming, a)[2] for a in audio[:60]]  # the stream's finish(): what it adds after speech
        row = {"utterances": len(audio),
               "wer_whisper_alone": round(wer(refs, finals(nb, first, 0.0)), 4),
               "wer_two_pass_final": round(wer(refs, finals(nb, first, weight)), 4),
               "wer_two_pass_with_candidate": round(wer(refs, finals(nb, first, c_weight, margin)), 4),
               "wer_streaming_first_pass": round(wer(refs, first), 4),
               "end_of_speech_to_final_s": {
                   "median": round(float(np.median(secs) + np.median(fin)), 3),
                   "p95": round(float(np.percentile(secs, 95) + np.median(fin)), 3)}}
        out[name] = row
        say(f"two-pass {name}: {row}")
    # partials while speaking (60 held-out utterances, fed in 100 ms pieces)
    counts = []
    for samples, _ in test[:60]:
        fb = Fbank(streaming.feature_config)
        st = streaming.stream()
        counts.append(sum(len(st.feed(fb.feed(samples[i : i + 1600]))) for i in range(0, len(samples), 1600)))
    out["partials_per_utterance_mean"] = round(float(np.mean(counts)), 2)
    out["utterances_with_partials"] = f"{int(np.sum(np.array(counts) > 0))} of {len(counts)}"
    report["two_pass"] = out


def machine(load_start: float, say) -> dict:
    """The CPU the RTFs were measured on: they are one thread's, and other work on the machine (a test
    run, training) raises them; a load above BUSY_LOAD at the start or end is said, and kept."""
    load_end = os.getloadavg()[0]
    busy = max(load_start, load_end) > BUSY_LOAD
    if busy:
        say(f"warning: the machine was busy (load {load_start:.1f} at the start, {load_end:.1f} at the end, "
            f"{os.cpu_count()} CPUs): the RTFs are high by the share other work took")
    return {"cpus": os.cpu_count(), **cpu(), "load_1min_start": round(load_start, 2),
            "load_1min_end": round(load_end, 2), "busy": busy}


def cpu() -> dict:
    """The CPU's model and the vector extensions onnxruntime's int8 kernels choose by: the same int8 model
    can give a few different tokens on AVX2 and on AVX-512 VNNI machines, and runs at another speed."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    return {"cpu_model": model, "isa": sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"})}


BUSY_LOAD = 1.5
"""this evaluation keeps about one CPU busy; more than this, and something else ran beside it"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "asr" / "home-lstm-en")
    ap.add_argument("--data", type=Path, default=ROOT / "var" / "asr-data")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--limit", type=int, default=0, help="held-out utterances used (0 = all)")
    ap.add_argument("--prompts", type=int, default=120, help="Asterisk prompts (0 = all 568)")
    ap.add_argument("--dev", type=int, default=150, help="validation utterances for fusion and boost")
    ap.add_argument("--dev-kokoro", type=int, default=50,
                    help="and utterances of the held-out Kokoro voice (make_data.py part 4), where made")
    ap.add_argument("--dev-festival", type=int, default=100,
                    help="and utterances of the held-out festival voice czech_ph (every 4th of valid_festival's 400)")
    ap.add_argument("--beam", type=int, default=BEAM, help="beam size (default: the pipeline's)")
    ap.add_argument("--decoding", type=json.loads, default=None,
                    help="the streaming settings as JSON (temperature, lm_weight, lm_word_bonus, ilm_weight, "
                         "hotword_boost_per_token), chosen elsewhere on validation (decode_eval.py's pooled "
                         "voices): taken as they are, not tuned here")
    ap.add_argument("--parity-files", type=int, default=320,
                    help="held-out files decoded by sherpa-onnx too (greedy token parity)")
    ap.add_argument("--skip-whisper", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args(argv)
    report: dict = {"model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model)}
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    load_start = os.getloadavg()[0]

    rows = [json.loads(line) for line in (args.data / "test.jsonl").read_text().splitlines()]
    if args.limit:
        rows = rows[: args.limit]
    test = [(read_audio(args.data / r["file"]).samples, r["text"]) for r in rows]
    seen = np.array([r["seen"] for r in rows])
    dev_rows, report["tuning_set"] = tuning_rows(args.data, args.dev, args.dev_kokoro, args.dev_festival)
    dev = [(read_audio(args.data / r["file"]).samples, r["text"]) for r in dev_rows]

    # the word LM and the hotwords as the pipeline builds them: [asr] lm = "domain", the home's names
    from assistant.config import HomeConfig
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm

    home = load_home(HomeConfig())
    lm = load_word_lm("domain", home)
    hot = tuple(home.names())  # as home_hotwords: the engine leaves out what its tokens cannot spell
    greedy = TransducerModel.load(model_cfg(args.model), RT)
    if args.decoding is None:
        own, tuning = tune_decoding(args.model, dev, lm, hot, say, args.beam)
        report["decoding_chosen_on"] = report["tuning_set"]
    else:
        keys = set(GENERIC_DECODING)  # the streaming settings a model brings
        if set(args.decoding) != keys:
            ap.error(f"--decoding: give exactly {sorted(keys)}, not {sorted(args.decoding)}")
        own, tuning = dict(args.decoding), []
        report["decoding_chosen_on"] = "given (--decoding): chosen on the pooled validation voices (decode_eval.py)"
    temperature, w, bonus, boost, ilm = (own[k] for k in ("temperature", "lm_weight", "lm_word_bonus",
                                                           "hotword_boost_per_token", "ilm_weight"))
    beam_cfg = functools.partial(beam_model, args.model, lm, hot, args.beam)
    beam = beam_cfg(temperature=1.0, lm_weight=0.0)  # as sherpa-onnx searches
    fused = beam_cfg(temperature=temperature, lm_weight=w, lm_word_bonus=bonus, ilm_weight=ilm)
    report["fusion_tuning_dev"] = tuning
    biased = beam_cfg(temperature=temperature, lm_weight=w, lm_word_bonus=bonus, ilm_weight=ilm,
                      hotword_boost_per_token=boost)
    fused_name = f"beam+lm(T={temperature},w={w},bonus={bonus}" + (f",ilm={ilm})" if ilm else ")")
    configs = {"greedy": greedy, "beam": beam, f"beam(T={temperature})": beam_cfg(temperature=temperature,
                                                                                 lm_weight=0.0),
               fused_name: fused, "beam+lm+hotwords": biased}
    report["beam_size"] = args.beam
    # what the pipeline takes for this model where the config leaves them out: the manifest entry's table
    report["decoding"] = own
    report["heldout"] = {"utterances": len(test), "audio_s": round(sum(len(a) for a, _ in test) / 16000, 1),
                         "voices": sorted({f"{r['engine']}/{r['voice']}" for r in rows})}
    refs = [t for _, t in test]
    first_pass: dict[str, list[str]] = {}  # the shipped streaming config's transcripts, per set
    for name, m in configs.items():
        r = run_set(m, test)
        hyps = r.pop("hyps")
        if name == "beam+lm+hotwords":
            first_pass["heldout"] = hyps
        for key, want in (("wer_seen_text", True), ("wer_unseen_text", False)):
            pick = [i for i, s in enumerate(seen) if s == want]
            r[key] = round(wer([refs[i] for i in pick], [hyps[i] for i in pick]), 4)
        by_engine = {}
        for eng in sorted({x["engine"] for x in rows}):
            sel = [i for i, x in enumerate(rows) if x["engine"] == eng]
            by_engine[eng] = round(wer([refs[i] for i in sel], [hyps[i] for i in sel]), 4)
        r["wer_by_engine"] = by_engine
        r["examples"] = [{"ref": refs[i], "hyp": hyps[i]} for i in range(0, len(refs), max(1, len(refs) // 6))]
        report["heldout"][name] = r
        say(f"heldout {name}: WER {r['wer']:.4f} (seen {r['wer_seen_text']:.4f}, unseen {r['wer_unseen_text']:.4f})"
            f" RTF {r['rtf']:.4f} {by_engine}")

    # sherpa-onnx parity (greedy, int8 encoder) on held-out files, over the chunks it decodes: from our
    # front end's frames, and from its own (kaldi-native-fbank's), which tells the engines from the front ends
    try:
        import kaldi_native_fbank  # noqa: F401
        import sherpa_onnx  # noqa: F401  (the reference must be there)

        from assistant.asr.reference import decode_as_sherpa, kaldi_fbank, sherpa_tokens

        same = same_frames = 0
        n_par = min(args.parity_files, len(test))
        for samples, _ in test[:n_par]:
            theirs = sherpa_tokens(args.model, samples, encoder="encoder.int8.onnx")
            same += decode_as_sherpa(greedy, Fbank(greedy.feature_config).compute(samples)) == theirs
            same_frames += decode_as_sherpa(greedy, kaldi_fbank(samples, greedy.feature_config)) == theirs
        report["sherpa_parity"] = {"files": n_par, "identical_greedy_tokens": same,
                                   "identical_given_sherpa_onnx_frames": same_frames}
        say(f"sherpa-onnx parity: {same}/{n_par} identical greedy token sequences; "
            f"{same_frames}/{n_par} from its own front end's frames")
    except ImportError:
        report["sherpa_parity"] = "sherpa-onnx not installed"

    real = {} if args.skip_real else {"librivox": librivox(), "cards": cards(), "asterisk": asterisk(args.prompts)}
    report["real"] = {}
    real_audio = {k: [read_audio(p).samples for p, _ in items] for k, items in real.items()}
    for set_name, items in real.items():
        audio = real_audio[set_name]
        refs_r = [t for _, t in items]
        row: dict = {"utterances": len(items), "audio_s": round(sum(len(a) for a in audio) / 16000, 1)}
        for name in ("greedy", "beam", "beam+lm+hotwords"):
            r = run_set(configs[name], list(zip(audio, refs_r, strict=True)))
            row[f"wer_transducer_{name}"], row[f"rtf_transducer_{name}"] = r["wer"], r["rtf"]
            if name == "beam+lm+hotwords":
                first_pass[set_name] = r["hyps"]
        report["real"][set_name] = row

    if not args.skip_whisper:
        first_pass["valid"] = run_set(biased, dev)["hyps"]
        evaluated = {p for p, _ in real.get("asterisk", [])}
        rest = [x for x in asterisk(0) if x[0] not in evaluated]  # prompts not reported: for tuning on real speech
        two_pass(report, biased, dev, test, first_pass, real, real_audio, rest[:: max(1, len(rest) // 60)][:60], say)
    sizes = {p.name: p.stat().st_size for p in sorted(args.model.glob("*")) if p.is_file()}
    report["sizes_bytes"] = sizes
    report["hotwords"] = list(hot)
    report["machine"] = machine(load_start, say)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    say(f"wrote {args.out}")
    table = ", ".join(f"{k} = {v}" for k, v in report["decoding"].items())
    say(f"the encoder's entry in models/manifest.toml: decoding = {{ {table} }}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
