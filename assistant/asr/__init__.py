"""Speech recognition: a streaming transducer engine (sherpa-onnx / icefall export) and Whisper.

model = TransducerModel.load(cfg.asr.transducer, cfg.runtime)
stream = model.stream()
partials = stream.feed(frames)        # TranscriptPartial events as the best path changes
hyps = stream.finish()                # n-best Hypothesis list, best first

whisper = WhisperModel.load(cfg.asr.whisper, cfg.runtime, registry)
hyps = whisper.transcribe(samples)    # one endpointed utterance, n-best
"""
