"""The planner: discovered state and config in, a deterministic :class:`Plan` out (pure)."""

from upgrader.planner.make import gate_inputs, make_plan

__all__ = ["gate_inputs", "make_plan"]
