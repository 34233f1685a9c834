"""Adapters for the eligibility-expression port (:mod:`onevoice.domain.expressions`)."""
