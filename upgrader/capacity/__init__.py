"""Pure capacity math: max pods, addresses per node, subnet budgets and roll waves.

Formulas and their sources: ../shared/research/vpc-cni.md §1-§3. No I/O here.
"""
