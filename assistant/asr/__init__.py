"""Speech recognition: a streaming transducer engine (sherpa-onnx / icefall export) and Whisper.

Streaming transducer::

    model = TransducerModel.load(cfg.asr.transducer, cfg.runtime)
    stream = model.stream()
    partials = stream.feed(frames)        # TranscriptPartial events as the best path changes
    hyps = stream.finish()                # n-best Hypothesis list, best first

Whisper (one endpointed utterance)::

    whisper = WhisperModel.load(cfg.asr.whisper, cfg.runtime, registry)
    hyps = whisper.transcribe(samples)    # n-best, best first
    w = cfg.asr.whisper
    hyps = rescore(hyps, lm, w.lm_weight, w.lm_word_bonus, w.lm_min_word_logprob)   # lm: [asr] lm

The word LM is anything with the surface of ``lm_protocol.WordLm`` (``assistant.lm.ngram.NgramModel``):
``TransducerModel.load(cfg, rt, lm=NgramModel.load(path))`` turns on shallow fusion (with
``[asr.transducer] lm_weight > 0`` and ``search = "beam"``).
"""
