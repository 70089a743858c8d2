"""Jsonnet manifest sources shipped as package data (read by ``upgrader.adapters.jsonnet``).

Entry points (top-level functions taking TLAs): ``aws-node.jsonnet``, ``kube-proxy.jsonnet``,
``coredns.jsonnet``. Libraries live in ``lib/``.
"""
