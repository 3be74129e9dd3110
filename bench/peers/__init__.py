"""Peers: CivicPulse's counting job written with another stream processor, run side by side by `make bench`."""
