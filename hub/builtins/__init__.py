"""The host's own plugins (datasette-style DEFAULT_PLUGINS): small, and overridable."""
