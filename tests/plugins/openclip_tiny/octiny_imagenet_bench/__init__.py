"""A tiny open_clip model (random weights) run by imagenet_bench's open_clip adapter, for tests."""
