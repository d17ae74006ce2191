"""Generated evaluation data for redaction (held-out PII transcripts with gold spans)."""
