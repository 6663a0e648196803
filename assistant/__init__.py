"""assistant: an on-device voice assistant runtime.

Pipeline (each stage takes only its own config section)::

    audio source ─► front end ─► wake word ─► VAD / endpointing ─► recognition ─► LM fusion / rescoring
       ─► understanding ─► skills ─► speech ─► audio sink
"""

from assistant.config import Config, ConfigError, load_config

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "load_config", "__version__"]
