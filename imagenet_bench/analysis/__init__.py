"""Accuracy, ranks, statistics and comparisons computed from caches (numpy only)."""
