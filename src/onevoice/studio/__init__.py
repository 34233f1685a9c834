"""The Studio: the web UI for agents and business users, served at ``/studio``."""

from onevoice.studio.app import studio_app

__all__ = ["studio_app"]
