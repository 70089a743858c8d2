"""The product's side of the local EKS twin: spawn its daemon, read its directory.

The twin itself is another distribution (``twin/``, package ``ekstwin``); nothing here
imports it. Standard library only.
"""
