"""Running onevoice: Prometheus metrics, readiness checks, structured logs."""
