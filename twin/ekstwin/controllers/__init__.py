"""Controllers that make the Kubernetes emulator behave like a cluster (DESIGN.md §8).

Each controller reconciles in-process against the emulator's ``Store``; the
:class:`~ekstwin.controllers.base.ControllerManager` runs them in passes.
"""
