"""One module per gate, each with its :class:`~upgrader.gates.rule.Rule` as ``RULE``."""
