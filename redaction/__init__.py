"""PII redaction of escalated clips (spans, bleeping, voice anonymization). Next stage; see README."""
