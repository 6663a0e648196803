"""The wake-word detector on the shipped openWakeWord models: front-end twins against the ONNX
reference, detections on the demo recording, chunk-size invariance, reset, decision rules, bad audio."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.config import MelImpl, RuntimeConfig
from assistant.models import ModelError
from assistant.wake.detector import INT16_SCALE, WakeHead, WakeStream, WakeWordModel
from assistant.wake.melspec import MelNumpy, MelOnnx, read_mel_graph
from tests.conftest import DEMO_WAV
from tests.wake.conftest import MEL_IMPLS

RATE = 16000


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return read_audio(DEMO_WAV, RATE).samples


def events_in_chunks(stream, x, chunk):
    stream.reset()
    out = []
    for i in range(0, len(x), chunk):
        out += stream.feed(x[i : i + chunk])
    return out


@pytest.mark.parametrize("impl", [MelImpl.PYTHON, *MEL_IMPLS[2:]])
def test_mel_twins_match_the_onnx_model(registry, speech, impl):
    from assistant.onnx import make_session
    from assistant.wake.melspec import MelNative

    path = registry.path("wake/melspectrogram")
    graph = read_mel_graph(path)
    ref = MelOnnx(make_session(path, RuntimeConfig()), graph)
    twin = MelNumpy(graph) if impl == MelImpl.PYTHON else MelNative(graph)
    rng = np.random.default_rng(0)
    x = speech * INT16_SCALE
    for start in rng.integers(0, len(x) - 1760, 40):
        seg = x[start : start + 1760]
        a, b = ref.compute(seg), twin.compute(seg)
        assert a.shape == b.shape == (8, 32)
        assert np.abs(a - b).max() < 2e-3
    quiet = rng.standard_normal(1760).astype(np.float32) * 0.5  # exercises the 80 dB floor
    assert np.abs(ref.compute(quiet) - twin.compute(quiet)).max() < 2e-3


def test_graph_reader_rejects_other_models(registry):
    with pytest.raises(ModelError, match="melspectrogram"):
        read_mel_graph(registry.path("wake/embedding"))


@pytest.mark.parametrize("impl", MEL_IMPLS)
def test_detects_the_wake_word_in_the_demo(load_model, demo, impl):
    model = load_model(mel=impl)
    events = events_in_chunks(model.stream(), demo, 320)
    assert [e.name for e in events] == ["hey_jarvis"]
    # "Hey Jarvis" is spoken from 0.5 s to about 1.3 s; the detection lands just after it
    assert 0.9 <= events[0].time_s <= 2.0
    assert events[0].score >= model.heads[0].threshold


@pytest.mark.parametrize("impl", MEL_IMPLS)
def test_chunk_size_does_not_change_detections(load_model, demo, speech, impl):
    # a low threshold and no refractory time make every step above 0.001 an event: a full score trace
    model = load_model(mel=impl, models=("wake/hey_jarvis", "wake/alexa"), threshold=0.001, refractory_s=0.0)
    x = np.concatenate([demo, speech[: RATE * 3]])
    stream = model.stream()
    reference = events_in_chunks(stream, x, 1280)
    assert len(reference) > 10
    for chunk in (1, 160, 333, 1281, 16000, len(x)):
        if chunk == 1:
            got = events_in_chunks(stream, x[: RATE * 2], 1)
            assert got == [e for e in reference if e.time_s <= 2.0]
        else:
            assert events_in_chunks(stream, x, chunk) == reference


def test_reset_equals_a_fresh_stream(load_model, demo):
    model = load_model(threshold=0.001, refractory_s=0.0)
    fresh = events_in_chunks(model.stream(), demo, 640)
    used = model.stream()
    events_in_chunks(used, demo[::-1].copy(), 999)  # leave state behind
    used.reset()
    got = []
    for i in range(0, len(demo), 640):
        got += used.feed(demo[i : i + 640])
    assert got == fresh


def test_several_heads_share_the_front_end(load_model, demo):
    one = events_in_chunks(
        load_model(models=("wake/hey_jarvis",), threshold=0.001, refractory_s=0.0).stream(), demo, 1280
    )
    many = events_in_chunks(
        load_model(
            models=("wake/alexa", "wake/hey_jarvis", "wake/hey_mycroft"), threshold=0.001, refractory_s=0.0
        ).stream(),
        demo,
        1280,
    )
    assert [e for e in many if e.name == "hey_jarvis"] == one


def test_matches_the_openwakeword_package(registry, demo):
    pytest.importorskip("sklearn", reason="openwakeword.Model needs scikit-learn (bench-only dependency)")
    from openwakeword.model import Model

    from assistant.config import WakeConfig

    x = np.concatenate([np.zeros(RATE, np.float32), demo, demo])
    pcm = np.round(x * 32768).clip(-32768, 32767).astype(np.int16)
    oww = Model(wakeword_models=[str(registry.path("wake/hey_jarvis"))], inference_framework="onnx")
    ref = np.array(
        [oww.predict(pcm[i : i + 1280])["hey_jarvis_v0.1"] for i in range(0, len(pcm) - 1279, 1280)]
    )
    cfg = WakeConfig(models=("wake/hey_jarvis",))  # openWakeWord's head (the default is our own)
    ours = WakeWordModel.load(cfg, RuntimeConfig(), registry).stream().scores_for(x)[:, 0]
    assert len(ours) == len(ref)
    # openWakeWord starts from random noise; after 2 s both have forgotten their start
    assert np.abs(ours[25:] - ref[25:]).max() < 1e-4


class ScriptedSession:
    """Stands in for a head's ONNX session: returns the next scripted score on each run."""

    def __init__(self, scores):
        self.scores = list(scores)

    def run(self, _outputs, _feeds):
        return [np.array([[self.scores.pop(0) if self.scores else 0.0]], np.float32)]


def scripted(model: WakeWordModel, scores, threshold=0.5, patience=1, refractory_steps=0) -> WakeWordModel:
    head = WakeHead("scripted", ScriptedSession(scores), "x", 16, threshold, patience, refractory_steps)
    return WakeWordModel(model.mel, model.embedding_session, [head], model.mel_window, model.embedding_dim,
                         model.step_samples, model.streaming)


@pytest.mark.parametrize(
    ("scores", "patience", "refractory", "expected_steps"),
    [
        ([0, 0.6, 0, 0.7, 0], 1, 0, [2, 4]),
        ([0, 0.6, 0, 0.7, 0], 2, 0, []),
        ([0, 0.6, 0.6, 0.6, 0.4, 0.9, 0.9], 2, 0, [3, 4, 7]),
        ([0.9, 0.9, 0.9, 0.9, 0.9, 0.9], 1, 2, [1, 4]),
        ([0.5, 0.49, 0.5], 1, 0, [1, 3]),  # at the threshold counts
    ],
)
def test_threshold_patience_refractory(load_model, scores, patience, refractory, expected_steps):
    model = scripted(load_model(), scores, patience=patience, refractory_steps=refractory)
    noise = (
        np.random.default_rng(0).standard_normal(model.step_samples * len(scores)).astype(np.float32) * 0.01
    )
    events = model.stream().feed(noise)  # not constant: a constant input skips the heads
    assert [round(e.time_s / model.step_s) for e in events] == expected_steps
    assert all(e.name == "scripted" and e.score >= 0.5 for e in events)


def test_per_word_overrides(registry):
    from assistant.config import WakeConfig, WakeWordConfig

    cfg = WakeConfig(
        models=("wake/hey_jarvis", "wake/alexa"),
        threshold=0.5,
        words={"wake/alexa": WakeWordConfig(threshold=0.9, patience_frames=3, refractory_s=0.8)},
    )
    model = WakeWordModel.load(cfg, RuntimeConfig(), registry)
    jarvis, alexa = model.heads
    assert (jarvis.threshold, jarvis.patience_frames, jarvis.refractory_steps) == (0.5, 1, 25)
    assert (alexa.threshold, alexa.patience_frames, alexa.refractory_steps) == (0.9, 3, 10)


def test_a_users_head_file_and_bad_heads(registry, tmp_path):
    import shutil

    from assistant.config import WakeConfig

    mine = tmp_path / "my_word.onnx"
    shutil.copy(registry.path("wake/hey_mycroft"), mine)
    model = WakeWordModel.load(WakeConfig(models=(str(mine),)), RuntimeConfig(), registry)
    assert model.heads[0].name == "my_word"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.onnx"):
        WakeWordModel.load(WakeConfig(models=(str(bad),)), RuntimeConfig(), registry)
    with pytest.raises(ModelError, match="neither"):
        WakeWordModel.load(WakeConfig(models=("wake/no_such_word",)), RuntimeConfig(), registry)
    with pytest.raises(ModelError, match="head input"):  # the embedding model is not a head
        WakeWordModel.load(WakeConfig(models=("wake/embedding",)), RuntimeConfig(), registry)


def bad_audio():
    rng = np.random.default_rng(1)
    t = np.arange(RATE * 20) / RATE
    yield "silence", np.zeros(RATE * 120, np.float32)
    yield "square", np.sign(np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # clipped, full scale
    yield "dc", np.full(RATE * 20, 0.7, np.float32) + 0.01 * rng.standard_normal(RATE * 20).astype(np.float32)
    noisy = rng.standard_normal(RATE * 20).astype(np.float32)
    noisy[RATE : RATE * 2] = np.nan
    noisy[RATE * 5 : RATE * 6] = np.inf
    yield "nan-inf-loud-noise", noisy
    yield "tiny", np.full(RATE * 5, 1e-30, np.float32)


@pytest.mark.parametrize(("name", "x"), list(bad_audio()), ids=[n for n, _ in bad_audio()])
def test_bad_audio_keeps_running_without_false_wakes(load_model, name, x):
    model = load_model(models=("wake/hey_jarvis", "wake/alexa", "wake/hey_mycroft", "wake/hey_rhasspy"))
    stream = model.stream()
    events = []
    for i in range(0, len(x), 4000):
        events += stream.feed(x[i : i + 4000])
    assert events == []
    assert np.isfinite(stream.scores).all()
    assert stream.time_s == pytest.approx(len(x) // model.step_samples * model.step_s)


def test_8khz_recording_resampled_at_the_edge(load_model, tmp_path, demo):
    from assistant.audio.io import write_audio
    from assistant.audio.resample import resample

    path = write_audio(tmp_path / "demo8k.wav", resample(demo, RATE, 8000), 8000)
    x = read_audio(path, RATE).samples
    events = events_in_chunks(load_model().stream(), x, 320)
    assert len(events) <= 1  # telephone band may cost the detection, never adds false ones
    asterisk = sorted(__import__("pathlib").Path("/usr/share/asterisk/sounds/en").glob("*.wav"))[:40]
    if asterisk:  # real 8 kHz speech: no false wakes
        speech = np.concatenate([read_audio(p, RATE).samples for p in asterisk])
        assert events_in_chunks(load_model().stream(), speech, 1600) == []


def test_constant_input_skips_work_exactly(load_model, demo):
    model = load_model(threshold=0.001, refractory_s=0.0)
    x = np.concatenate([np.zeros(RATE * 10, np.float32), demo, np.zeros(RATE * 5, np.float32), demo])
    stream = model.stream()
    events = events_in_chunks(stream, x, 1280)
    steps = len(x) // model.step_samples
    assert stream.num_embedded < steps * 0.6  # the silences cost (almost) nothing
    full = WakeStream(model, skip_repeats=False)  # computes every step
    assert events_in_chunks(full, x, 1280) == events
    assert full.num_embedded == steps


def test_an_hour_of_silence(load_model):
    stream = load_model().stream()
    block = np.zeros(RATE * 60, np.float32)
    for _ in range(60):
        assert stream.feed(block) == []
    assert stream.time_s == pytest.approx(3600.0)


def test_mel_graph_is_cached_without_onnx(registry, tmp_path):
    from assistant.wake.melspec import load_mel_graph

    path = registry.path("wake/melspectrogram")
    first = load_mel_graph(path, tmp_path)
    (cached,) = (tmp_path / "wake").glob("melgraph-*.npz")
    second = load_mel_graph(path, tmp_path)  # from the .npz
    ref = read_mel_graph(path)
    for g in (first, second):
        np.testing.assert_array_equal(g.window, ref.window)
        np.testing.assert_array_equal(g.mel_matrix, ref.mel_matrix)
        assert (g.hop, g.amin, g.top_db) == (ref.hop, ref.amin, ref.top_db)
    cached.write_bytes(b"garbage")  # a corrupt cache entry is parsed again and rewritten
    assert load_mel_graph(path, tmp_path).hop == ref.hop
    assert np.load(cached)["hop"] == ref.hop
