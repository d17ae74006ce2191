"""sottovoce speech foundation: corpus, features, wake word and recognizer."""

SAMPLE_RATE = 16000
"""Every waveform inside sottovoce is mono float32 at this rate (Hz)."""
