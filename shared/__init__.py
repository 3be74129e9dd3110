"""CivicPulse shared package: event contract, settings, storage, topics, reference data, dev stack."""
