"""Training wake-word heads in openWakeWord's format (``assistant wake train``) and per-user verifiers
(``assistant wake enroll``).

The front end is frozen: the mel step and Google's speech embedding, computed by ``WakeWordModel``
exactly as the listener computes them. Only the head (16 embeddings -> one score) is trained, in numpy
(``head.py`` says why not PyTorch), from synthetic speech (``synth.py``), augmented (``augment.py``),
against phrases that sound like the wake phrase (``phrases.py``) and a shared cache of negative speech,
music and noise (``data.py``).
"""
