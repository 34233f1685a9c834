"""Shared state of a fleet of API replicas (Redis)."""
