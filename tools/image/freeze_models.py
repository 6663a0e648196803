"""Freeze the models a config uses into one folder with its own manifest, for the firmware image.

    python tools/image/freeze_models.py --config tools/image/assistant.toml --out DIR [--manifest M]
        [--cache DIR] [--list]

Every model the runtime loads for that config (wake word, VAD, transducer, Whisper, voice) is resolved in
the source manifest (``models/manifest.toml``): derived ones are prepared first (``assistant models
prepare``'s recipes, into ``--cache``), then each file is copied to ``DIR/<name><suffix>`` and listed in
``DIR/manifest.toml`` as a plain file entry pinned by its sha256 (licence, contract, source and decoding
kept). The image then carries the files it runs and nothing they were made from (the float voice, the
CTranslate2 weights, the model packages), and ``assistant check`` verifies every one.

Two things the runtime finds through the source manifest's ``derived_from`` are made explicit: the
voice's sidecar (``<voice>.onnx.json``) is copied beside the voice, and the decoder the voice streams with
(the float decoder of the voice it was quantized from) is listed under the voice's own
``<voice>-decoder`` name.

``--warm`` fills the config's own model cache (``[models] cache_dir``) with what ``assistant run`` would
otherwise build at its first start: the domain LM (``[asr] lm = "domain"``) and the wake word's mel
weights. The image's smoke test checks that its run adds nothing there.

``--list`` prints the names and exits (no files are touched): ``tests/image`` checks that every one
resolves in the source manifest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from assistant.config import Config, ModelsConfig, VadEngine, load_config
from assistant.models import ModelEntry, ModelError, ModelRegistry, sha256_file

REPO = Path(__file__).resolve().parent.parent.parent
"""this checkout (in the image, the runtime is installed; from a checkout: python -m tools.image.freeze_models)"""


def runtime_models(cfg: Config, registry: ModelRegistry) -> list[str]:
    """The manifest names ``assistant run`` loads for ``cfg``, in load order (names only: a stage given a
    file path instead of a name needs nothing from the manifest). Mirrors the loaders: the wake word
    (assistant/wake/detector.py), the VAD (assistant/vad/speech_prob.py), the transducer
    (assistant/asr/transducer.py REGISTRY_PARTS), Whisper (assistant/asr/whisper.py WhisperModel.load) and
    the voice (assistant/tts/voice.py Voice.load); the image's smoke test proves the list complete, since
    the frozen manifest holds nothing else."""
    from assistant.asr.transducer import REGISTRY_PARTS
    from assistant.tts.voice import split_decoder

    names: list[str] = []

    def want(name: str) -> None:
        if name in registry.entries and name not in names:
            names.append(name)

    for name in (cfg.wake.melspectrogram, cfg.wake.embedding, *cfg.wake.models, cfg.wake.stop_model):
        want(name)
    if cfg.vad.engine != VadEngine.WEBRTC:
        want(cfg.vad.model)
    t = cfg.asr.transducer
    if t.model and not t.files_given:
        for part in REGISTRY_PARTS.values():
            want(f"{t.model}/{part}")
    w = cfg.asr.whisper
    suffix = ".int8" if w.quantized else ""
    for part in (f"encoder{suffix}", f"decoder{suffix}", "vocabulary", "config"):
        want(f"{w.model}/{part}")
    if w.prompt:
        want(f"{w.model}/tokenizer")
    voice = cfg.tts.voice
    if voice in registry.entries:
        want(voice)
        if cfg.tts.stream_chunk_frames > 0:
            want(f"{voice}-encoder")
            want(split_decoder(voice, registry))
    missing = [n for n in _named(cfg) if n not in registry.entries and not n.endswith(".onnx")]
    if missing:
        raise ModelError(f"the config names models the manifest lacks: {', '.join(missing)}")
    return names


def _named(cfg: Config) -> list[str]:
    """Every model name the config gives directly (each must be in the manifest or be a file path)."""
    names = [cfg.wake.melspectrogram, cfg.wake.embedding, *cfg.wake.models, cfg.tts.voice]
    if cfg.wake.stop_model:
        names.append(cfg.wake.stop_model)
    if cfg.vad.engine != VadEngine.WEBRTC:
        names.append(cfg.vad.model)
    t, w = cfg.asr.transducer, cfg.asr.whisper
    names += [f"{w.model}/{p}" for p in ("encoder.int8" if w.quantized else "encoder", "vocabulary", "config")]
    if t.model and not t.files_given:
        from assistant.asr.transducer import REGISTRY_PARTS

        names += [f"{t.model}/{p}" for p in REGISTRY_PARTS.values()]
    return names


def frozen_file(entry: ModelEntry) -> str:
    """``<name><suffix>``: unique (names are), and readable on the device."""
    suffix = Path(entry.file).suffix
    return entry.name if entry.name.endswith(suffix) else entry.name + suffix


def freeze(cfg: Config, registry: ModelRegistry, out: Path) -> list[dict]:
    """Copy every model ``cfg`` uses into ``out`` and write ``out/manifest.toml``; returns its entries."""
    from assistant.tts.voice import resolve_voice, split_decoder

    names = runtime_models(cfg, registry)
    rows: list[dict] = []
    aliases = {}
    voice = cfg.tts.voice
    if voice in registry.entries and cfg.tts.stream_chunk_frames > 0:
        decoder = split_decoder(voice, registry)
        if decoder != f"{voice}-decoder" and decoder in registry.entries:
            aliases[decoder] = f"{voice}-decoder"
    for name in names:
        e = registry.entry(name)
        src = registry.path(name)  # derived ones are prepared into the cache first
        new_name = aliases.get(name, name)
        rel = frozen_file(ModelEntry(name=new_name, file=e.file, licence=e.licence, contract=e.contract))
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        origin = {"package": f"file {e.file} of {e.package}", "derived": f"derived by {e.recipe} from "
                  f"{', '.join(e.derived_from)}", "project": f"file {e.file} of the source tree"}[e.kind]
        row = {"name": new_name, "file": rel, "sha256": sha256_file(dst), "licence": e.licence,
               "contract": e.contract, "source": f"{e.source}; frozen at image build: {origin}"}
        if new_name != name:
            row["description"] = f"{name}, the decoder {voice} streams with (its float decoder)"
        elif e.description:
            row["description"] = e.description
        if e.decoding:
            row["decoding"] = dict(e.decoding)
        rows.append(row)
        if name == voice:  # the sidecar, beside the voice itself (not found through derived_from)
            _model, sidecar = resolve_voice(cfg.tts, registry)
            shutil.copyfile(sidecar, Path(f"{dst}.json"))
    (out / "manifest.toml").write_text(_toml(rows), encoding="utf-8")
    return rows


def warm(cfg: Config, registry: ModelRegistry) -> list[Path]:
    """Build into ``cfg.models.cache_dir`` what the runtime caches there at start; returns the files."""
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm
    from assistant.models import default_cache_dir
    from assistant.wake.melspec import load_mel_graph

    cache = default_cache_dir(cfg.models.cache_dir)
    if cfg.asr.lm == "domain":
        load_word_lm(cfg.asr.lm, load_home(cfg.home), cache)
    if cfg.wake.melspectrogram in registry.entries:
        load_mel_graph(registry.path(cfg.wake.melspectrogram), cache)
    return sorted(p for p in cache.rglob("*") if p.is_file())


def _toml(rows: list[dict]) -> str:
    lines = ["# The firmware image's model manifest, written by tools/image/freeze_models.py at image build: the",
             "# models the image's config uses, each a file beside this manifest, pinned by its sha256.",
             "# `assistant models verify` checks them; the source manifest is models/manifest.toml.", ""]
    for row in rows:
        lines.append("[[model]]")
        for key, value in row.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, required=True, help="the image's config (its [models] is ignored)")
    ap.add_argument("--manifest", type=Path, default=REPO / "models" / "manifest.toml",
                    help="the source manifest (default: models/manifest.toml)")
    ap.add_argument("--cache", type=Path, default=Path(""), help="where derived models are prepared")
    ap.add_argument("--out", type=Path, help="the folder to write (the files and manifest.toml)")
    ap.add_argument("--list", action="store_true", help="print the names the config uses and exit")
    ap.add_argument("--warm", action="store_true",
                    help="fill the config's own [models] cache_dir as a first start would, and exit")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config)
        if args.warm:
            for p in warm(cfg, ModelRegistry.load(cfg.models)):
                print(f"cached {p} ({p.stat().st_size / 1e6:.1f} MB)")
            return 0
        registry = ModelRegistry.load(ModelsConfig(manifest=args.manifest, cache_dir=args.cache))
        if args.list:
            print("\n".join(runtime_models(cfg, registry)))
            return 0
        if args.out is None:
            ap.error("--out is needed (or --list)")
        args.out.mkdir(parents=True, exist_ok=True)
        rows = freeze(cfg, registry, args.out)
    except ModelError as e:
        print(f"freeze_models: error: {e}", file=sys.stderr)
        return 1
    total = sum((args.out / r["file"]).stat().st_size for r in rows)
    print(f"froze {len(rows)} models, {total / 1e6:.1f} MB, into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
