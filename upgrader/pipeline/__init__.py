"""Use cases the CLI calls: one function per command, returning plain results.

Import each use case from its own module (``from upgrader.pipeline.plan import plan``):
this package imports none of them, so a command loads only the adapters it needs and
``upgrader --help`` loads none."""
