"""Measuring what actions earn: lift of randomized experiments and off-policy evaluation.

Pure functions over numpy arrays; files are read by ``onevoice.measure_io``.
"""
