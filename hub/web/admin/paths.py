"""Where the web admin lives in the hub's web app: its path prefix (a module of its own so that
the app, which mounts the pages, and the pages' rendering, which links to them, both read it
without importing each other)."""

__all__ = ["PREFIX"]

#: The path every admin page is under.
PREFIX = "/admin"
