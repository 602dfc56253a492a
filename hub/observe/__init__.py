"""What an operator sees of the running hub: shared counters, Prometheus metrics, readiness,
process heartbeats, JSON logs and the start-up summary of each process."""
