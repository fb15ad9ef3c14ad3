"""The ``imagenet-bench`` command line."""
