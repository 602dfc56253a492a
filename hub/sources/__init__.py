"""Pulling facts in: the pull runner, storing facts, mappings and held records, vendor HTTP
plumbing for connectors, and the built-in counters that answer from stored facts."""
