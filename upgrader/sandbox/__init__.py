"""The local EKS twin (DESIGN.md §8): scenario files now; servers and controllers next."""
