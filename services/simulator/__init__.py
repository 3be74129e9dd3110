"""Province traffic simulator: realistic dossier and feedback events sent to the ingest API."""
