"""Voice activity (silero VAD v6, webrtcvad) and end-of-speech rules."""
