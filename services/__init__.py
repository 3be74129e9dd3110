"""CivicPulse services."""
