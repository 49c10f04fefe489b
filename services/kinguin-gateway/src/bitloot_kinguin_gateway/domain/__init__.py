"""Rules of the kinguin-gateway service: pure, no I/O."""
