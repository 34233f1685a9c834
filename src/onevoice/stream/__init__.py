"""How events travel from collectors to processors in a fleet: NATS JetStream, partitioned
by customer (``nats.py`` publishes, ``worker.py`` consumes, ``leases.py`` shares the
partitions out among workers)."""
