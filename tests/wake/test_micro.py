"""microWakeWord's models: the converter against the TFLite interpreter, the heads in our wake stage."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.config import RuntimeConfig, WakeConfig, WakeWordConfig
from assistant.models import ModelError
from tests.conftest import DEMO_WAV

MICRO = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")
RATE = 16000


@pytest.fixture(scope="module")
def micro_registry(registry):
    pytest.importorskip("tflite", reason="the converter reads TFLite files with the tflite package")
    try:
        for name in MICRO:
            registry.path(f"wake/micro/{name}")
    except ModelError as e:
        pytest.skip(f"microWakeWord models not available: {e}")
    return registry


def speak(text: str, voice: str = "espeak-ng") -> np.ndarray:
    """``text`` in espeak-ng's default voice (flite's slt if espeak-ng is not here), with silence around
    it. (Not every synthetic voice wakes every model: microWakeWord's hey_mycroft peaks at 0.92 on flite's
    slt, under its 0.95 cutoff; tools/eval_wake.py measures that over many voices.)"""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        if voice.startswith("flite:") and shutil.which("flite"):
            subprocess.run(["flite", "-voice", voice[6:], "-t", text, "-o", str(wav)], check=True, capture_output=True)
        elif shutil.which("espeak-ng"):
            subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
        elif shutil.which("flite"):
            subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(wav)], check=True, capture_output=True)
        else:
            pytest.skip("no speech synthesiser (flite or espeak-ng)")
        x = read_audio(wav, RATE).samples
    pad = np.zeros(RATE, np.float32)
    return np.concatenate([pad, x, pad])


def load_micro(registry, names, **kw):
    from assistant.wake.micro import MicroWakeModel

    cfg = WakeConfig(models=tuple(f"wake/micro/{n}" for n in names), **kw)
    return MicroWakeModel.load(cfg, RuntimeConfig(num_threads=1), registry)


# --- the converter -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MICRO)
def test_converted_model_matches_the_tflite_interpreter_call_by_call(micro_registry, name, tmp_path):
    pytest.importorskip("pymicro_wakeword", reason="the TFLite interpreter ships in pymicro-wakeword")
    from tools.convert_micro_wakeword import features_of, parity

    clip = np.concatenate([speak(name.replace("_", " ")), read_audio(DEMO_WAV, RATE).samples])
    p = parity(
        micro_registry.path(f"wake/micro/{name}.tflite"), micro_registry.path(f"wake/micro/{name}"),
        features_of(clip), "qdq",
    )
    assert p.calls > 100
    # int8 requantisation rounds near-ties differently in the two runtimes (fixed-point vs float
    # multiplier): a one-step difference inside the network, which the ring buffers carry for a few
    # calls and the sigmoid widens near its middle (one logit step is up to 14 output steps). Measured
    # on these clips: at most 32 of 284 calls differ, by at most 27/256; the decisions at most once.
    assert p.calls_differing <= 0.15 * p.calls, p
    assert p.max_abs_diff <= 32 / 256, p
    assert p.decisions_differing <= 2, p


def test_float_flavour_converts_and_runs(micro_registry, tmp_path):
    import onnx

    from assistant.wake.micro import MicroHead
    from assistant.wake.micro_convert import convert

    out = tmp_path / "alexa.float.onnx"
    onnx.save(convert(micro_registry.path("wake/micro/alexa.tflite"), mode="float"), str(out))
    head = MicroHead.load(out)
    prob, state = head.run(np.zeros((1, head.stride, head.channels), np.float32), head.initial_state())
    assert 0.0 <= prob < 0.1 and all(s.dtype == np.float32 for s in state)


def test_state_is_explicit(micro_registry):
    from assistant.wake.micro import MicroHead

    head = MicroHead.load(micro_registry.path("wake/micro/hey_mycroft"))
    assert len(head.states) >= 5 and head.stride == 3 and head.channels == 40
    assert head.wake_word == "Hey Mycroft" and head.probability_cutoff == 0.95
    _, state = head.run(np.full((1, 3, 40), 10.0, np.float32), head.initial_state())
    assert any(not np.array_equal(s, i) for s, (_, _, i) in zip(state, head.states, strict=True))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a TFLite model"), (b"garbage" * 40, "not a TFLite model"), ("truncated", "damaged|not a TFLite")],
)
def test_bad_tflite_is_a_clear_error(micro_registry, tmp_path, content, message):
    from assistant.wake.micro_convert import convert

    src = micro_registry.path("wake/micro/alexa.tflite")
    bad = tmp_path / "alexa.tflite"
    bad.write_bytes(src.read_bytes()[:4000] if content == "truncated" else content)
    (tmp_path / "alexa.json").write_bytes(src.with_suffix(".json").read_bytes())
    with pytest.raises(ModelError, match=message):
        convert(bad)


def test_missing_or_bad_json_is_a_clear_error(micro_registry, tmp_path):
    from assistant.wake.micro_convert import convert

    src = micro_registry.path("wake/micro/alexa.tflite")
    model = tmp_path / "alexa.tflite"
    model.write_bytes(src.read_bytes())
    with pytest.raises(ModelError, match="config not found"):
        convert(model)
    (tmp_path / "alexa.json").write_text('{"wake_word": "x"}')
    with pytest.raises(ModelError, match="not a microWakeWord config"):
        convert(model)


def test_corrupt_onnx_head_is_a_clear_error(micro_registry, tmp_path):
    from assistant.wake.micro import MicroHead

    bad = tmp_path / "head.onnx"
    bad.write_bytes(micro_registry.path("wake/micro/alexa").read_bytes()[:3000])
    with pytest.raises(ModelError, match="cannot be loaded"):
        MicroHead.load(bad)
    plain = micro_registry.path("wake/alexa")  # an openWakeWord head: no microWakeWord metadata
    with pytest.raises(ModelError, match="not a converted microWakeWord model"):
        MicroHead.load(plain)


# --- the heads in the wake stage -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "voice"),
    # microWakeWord's hey_jarvis stays under 0.06 on espeak-ng's voices, 0.996 on flite's rms
    [("alexa", "espeak-ng"), ("hey_jarvis", "flite:rms"), ("hey_mycroft", "espeak-ng"), ("okay_nabu", "espeak-ng")],
)
def test_micro_head_fires_on_its_phrase(micro_registry, name, voice):
    if voice.startswith("flite") and not shutil.which("flite"):
        pytest.skip("flite is not installed")
    model = load_micro(micro_registry, MICRO)
    stream = model.stream()
    events = []
    x = speak(name.replace("_", " ").replace("okay", "okay,"), voice)
    for i in range(0, len(x), 1280):
        events += stream.feed(x[i : i + 1280])
    assert [e.name for e in events] == [f"micro/{name}"]
    assert 0.5 < events[0].time_s < len(x) / RATE


def test_micro_heads_stay_quiet_without_their_phrase(micro_registry):
    model = load_micro(micro_registry, MICRO)
    stream = model.stream()
    demo = read_audio(DEMO_WAV, RATE).samples  # "Hey Jarvis. Set a timer ..."
    silence = np.zeros(5 * RATE, np.float32)
    request = speak("what's the weather like tomorrow in the kitchen")
    events = [e.name for x in (silence, request, demo) for e in stream.feed(x)]
    assert set(events) <= {"micro/hey_jarvis"}


def test_chunk_size_and_reset_do_not_change_scores(micro_registry):
    model = load_micro(micro_registry, ["hey_mycroft"])
    x = speak("hey mycroft")
    stream = model.stream()
    whole = stream.scores_for(x)
    for chunk in (160, 1000, 4801):
        stream.reset()
        parts = [stream.scores_for(x[i : i + chunk]) for i in range(0, len(x), chunk)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert whole.max() > 0.95


def test_word_overrides_apply_to_micro_heads(micro_registry):
    from assistant.wake.micro import lifted_cutoff

    model = load_micro(
        micro_registry, ["alexa", "hey_mycroft"],
        words={"wake/micro/alexa": WakeWordConfig(threshold=0.5, refractory_s=1.0)},
    )
    alexa, mycroft = model.heads
    assert alexa.threshold == 0.5 and alexa.refractory_steps == round(1.0 / 0.03)
    assert mycroft.threshold == lifted_cutoff(0.95, 5) and 0.95 < mycroft.threshold < 0.951


def test_micro_and_openwakeword_heads_load_together(micro_registry):
    from assistant.wake.wakeset import WakeSet

    wake = WakeSet.load(
        WakeConfig(models=("wake/hey_jarvis", "wake/micro/hey_mycroft")), RuntimeConfig(num_threads=1),
        micro_registry,
    )
    assert [h.name for h in wake.heads] == ["hey_jarvis", "micro/hey_mycroft"]
    stream = wake.stream()
    x = np.concatenate([read_audio(DEMO_WAV, RATE).samples, speak("hey mycroft")])
    events = []
    for i in range(0, len(x), 1280):
        events += stream.feed(x[i : i + 1280])
    assert [e.name for e in events] == ["hey_jarvis", "micro/hey_mycroft"]
    assert events[0].time_s < events[1].time_s
    assert stream.scores.shape == (2,)


def test_a_micro_head_can_be_the_stop_word(micro_registry):
    """``[wake] stop_model`` may name a micro head: it runs beside the wake words, and what it hears is
    ``StopHeard``, not a wake word."""
    from assistant.config import EndpointConfig, VadConfig
    from assistant.listener import Listener

    listener = Listener.load(
        WakeConfig(models=("wake/hey_jarvis",), stop_model="wake/micro/hey_mycroft"), VadConfig(), EndpointConfig(),
        RuntimeConfig(num_threads=1), micro_registry,
    )
    assert [(h.name, h.stop) for h in listener.wake.heads] == [("hey_jarvis", False), ("micro/hey_mycroft", True)]
    x = np.concatenate([speak("hey mycroft"), np.zeros(RATE, np.float32)])
    kinds = [e.kind for i in range(0, len(x), 1280) for e in listener.feed(x[i : i + 1280])]
    assert kinds == ["stop-heard"]


def test_listener_runs_micro_heads_only(micro_registry):
    from assistant.config import EndpointConfig, VadConfig
    from assistant.listener import Listener

    listener = Listener.load(
        WakeConfig(models=("wake/micro/alexa",)), VadConfig(), EndpointConfig(), RuntimeConfig(num_threads=1),
        micro_registry,
    )
    assert [type(m).__name__ for m in listener.wake.models] == ["MicroWakeModel"]
    x = np.concatenate([speak("alexa, what time is it"), np.zeros(2 * RATE, np.float32)])
    kinds = [e.kind for i in range(0, len(x), 1280) for e in listener.feed(x[i : i + 1280])]
    assert kinds[0] == "wake-detected" and "speech-ended" in kinds


def test_eval_wake_quick_runs_all_three_systems(micro_registry, tmp_path):
    """tools/eval_wake.py --quick on a tiny corpus: every system scores, the plot and tables are written."""
    import json

    from assistant.audio.io import write_audio
    from tools.eval_wake import main

    pytest.importorskip("sklearn", reason="the openWakeWord package's pipeline imports scikit-learn")
    pytest.importorskip("pymicro_wakeword", reason="microWakeWord's own pipeline")
    corpus = tmp_path / "corpus"
    for phrase, voice in (("alexa", "espeak-ng"), ("hey_jarvis", "flite:rms")):
        pos = corpus / phrase / "positives"
        pos.mkdir(parents=True)
        write_audio(pos / "a.wav", speak(phrase.replace("_", " "), voice), RATE)
    neg = corpus / "alexa" / "negatives"
    neg.mkdir()
    write_audio(neg / "demo.wav", read_audio(DEMO_WAV, RATE).samples, RATE)
    write_audio(neg / "request.wav", speak("set a timer for five minutes please"), RATE)
    out = tmp_path / "out"
    assert main(["--corpus", str(corpus), "--out", str(out), "--quick", "--micro-heads", "alexa,hey_jarvis",
                 "--oww-heads", "alexa,hey_jarvis"]) == 0
    report = json.loads((out / "results.json").read_text())
    systems = {r["system"] for r in report["heads"]}
    assert systems == {"openwakeword", "pymicro-wakeword", "ours (micro)", "ours (openWakeWord format)",
                       "ours: wake stage"}
    stage = {r["model"]: r for r in report["heads"] if r["system"] == "ours: wake stage"}
    assert set(stage) == {"hey_jarvis", "micro/alexa"}  # the shipped head of each phrase in the corpus
    assert all(r["positives"] == 1 and r["candidate_recall"] >= r["recall"] for r in stage.values())
    micro = {r["model"]: r for r in report["heads"] if r["system"] == "ours (micro)"}
    assert micro["micro/alexa"]["positives"] == 1 and micro["micro/alexa"]["recall"] == 1.0
    assert (out / "det.png").stat().st_size > 10_000 and "| system |" in (out / "results.md").read_text()
    assert all(c["real_time_factor"] > 0 for c in report["cpu"]["systems"])


def test_eval_wake_without_a_corpus_is_a_clear_error(tmp_path, capsys):
    from tools.eval_wake import main

    assert main(["--corpus", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--quick"]) == 1
    assert "no <phrase>/positives folders" in capsys.readouterr().err


def test_eval_wake_cli_scores_micro_and_openwakeword_heads_together(micro_registry, tmp_path, capsys):
    import json

    from assistant.audio.io import write_audio
    from assistant.cli import main

    pos = tmp_path / "positives"
    pos.mkdir()
    write_audio(pos / "a.wav", speak("alexa"), RATE)
    write_audio(pos / "b.wav", speak("alexa, what time is it"), RATE)
    assert main(["eval", "wake", "--positives", str(pos), "--model", "wake/alexa", "--model", "wake/micro/alexa",
                 "--json"]) == 0
    rows = {r["model"]: r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "model" in r}
    assert rows["micro/alexa"]["recall"] == 1.0 and rows["micro/alexa"]["positives"] == 2
    assert "alexa" in rows


def test_openwakeword_loader_refuses_a_micro_head_clearly(micro_registry):
    from assistant.wake.detector import WakeWordModel

    with pytest.raises(ModelError, match="a microWakeWord head"):
        WakeWordModel.load(WakeConfig(models=("wake/micro/alexa",)), RuntimeConfig(), micro_registry)


def test_wakeset_reports_a_corrupt_head_file_clearly(micro_registry, tmp_path):
    from assistant.wake.wakeset import WakeSet

    bad = tmp_path / "my_word.onnx"
    bad.write_bytes(b"\x08\x07not really onnx")
    with pytest.raises(ModelError, match="cannot be loaded"):
        WakeSet.load(WakeConfig(models=("wake/micro/alexa", str(bad))), RuntimeConfig(), micro_registry)


def test_heads_as_one_graph_score_as_the_heads_apart(micro_registry, speech):
    """``JointHeads``: one call a step for every head, the same probabilities, scores and detections as
    each head in its own session (microWakeWord's converted heads and one of ours on that front end)."""
    import dataclasses

    from assistant.wake.micro import MicroWakeModel

    names = ["wake/micro/hey_mycroft", "wake/micro/alexa", "wake/own-micro/stop"]
    joint = MicroWakeModel.load(WakeConfig(models=tuple(names)), RuntimeConfig(), micro_registry, names=names)
    assert joint.joint is not None and len(joint.joint.session.get_inputs()) == 1 + sum(
        len(h.states) for h in joint.heads)
    apart = MicroWakeModel(joint.heads, joint=None)
    x = np.concatenate([speech, read_audio(DEMO_WAV, 16000).samples])
    a, b = joint.stream(), apart.stream()
    ta, tb, pa, pb = [], [], [], []
    for i in range(0, len(x), 4000):
        ta.append(a.scores_for(x[i : i + 4000]))
        tb.append(b.scores_for(x[i : i + 4000]))
        pa.append(a.probabilities.copy())
        pb.append(b.probabilities.copy())
    np.testing.assert_array_equal(np.concatenate(ta), np.concatenate(tb))
    np.testing.assert_array_equal(np.array(pa), np.array(pb))
    assert np.concatenate(ta).max() > 0  # the heads heard something
    # a head without its file (made in memory) runs apart
    one = MicroWakeModel([dataclasses.replace(h, path=None) for h in joint.heads])
    assert one.joint is None and one.stream().scores_for(x[:16000]).shape[1] == 3
