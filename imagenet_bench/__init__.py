"""imagenet_bench: honest, reproducible ImageNet accuracy of pretrained models.

The core (registry, cache, scorer) imports numpy only; torch and tensorflow
are imported only inside their backend modules.
"""
__version__ = "0.1.0"
