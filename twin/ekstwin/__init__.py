"""The local EKS twin (DESIGN.md §8): a moto-based AWS, a Kubernetes API emulator and its
controllers, started by ``python -m ekstwin.daemon SCENARIO DIR`` (``upgrader sandbox up``).

A distribution of its own (``upgrader-twin``); the product never imports it.
"""
