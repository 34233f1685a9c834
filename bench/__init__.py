"""Benchmarks. Each ``bench_*.py`` module defines ``SUITES``: name → function(options) → rows.

``onevoice bench [SUITE…]`` runs them from a source checkout and prints one table.
"""
