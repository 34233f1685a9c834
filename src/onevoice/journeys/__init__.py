"""Journeys as customers take them: maps, friction, conformance, the engagement gap
and cross-channel value, crunched with Polars over events from the store or a file."""
