"""``upgrader apply``: runs a reviewed plan step by step, resumably and safely."""
