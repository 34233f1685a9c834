"""onevoice: an open-source, real-time customer engagement engine."""

__version__ = "0.1.0"
