"""The host: the plugin manager, the running context of each process, secrets at rest,
settings from the environment, durable per-connection state and garbage-collector pacing for
bulk work."""
