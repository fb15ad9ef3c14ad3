"""Keras 3: the parent-side adapter (no Keras import) and the child process that runs the model."""
