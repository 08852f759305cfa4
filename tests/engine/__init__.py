"""Tests of the pure statistics engine (streams/engine) against shared/contract/stats.md."""
