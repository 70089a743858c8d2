"""Bundled data: instance types, Kubernetes versions, CNI releases and behaviours."""
