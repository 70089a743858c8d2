"""upgrader: capacity-gated, resumable upgrades of Amazon EKS clusters."""

__version__ = "0.1.0"
