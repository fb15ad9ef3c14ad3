"""Datasets: image discovery, labels and class names, and pixels (decode -> resize -> crop)."""
