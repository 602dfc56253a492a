"""CLI command modules: every module here with a ``register(app)`` function is loaded."""
