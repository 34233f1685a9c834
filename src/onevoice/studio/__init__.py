"""The Studio: the web UI for agents and business users, served at ``/studio``."""

from onevoice.studio.app import studio_app
from onevoice.studio.insights import store_journeys

__all__ = ["store_journeys", "studio_app"]
