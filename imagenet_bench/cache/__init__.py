"""Prediction caches: the project's .npz format, the 2019 layout reader, atomic writes (numpy only)."""
