"""toy: a model library for imagenet_bench, added as a plugin (see docs/EXTENDING.md)."""
