"""Wake words: openWakeWord's model format (shared mel + embedding front end, one head per word)."""
