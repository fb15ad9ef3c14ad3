"""The adapter: a RunConfig in, a runner backend out (imported only when a toy model runs).

The networks are plain torch modules, so the package's own TorchBackend runs them: DataLoader
decoding of the entry's recipe, batches, autocast, devices, the numerics variants of
``verify variants``. A real plugin would load its weights here (with a BenchError naming the
file and where to put it when they are missing); the toy draws them from a fixed seed.
"""
import torch

from imagenet_bench.backends.torch import TorchBackend

WIDTH = {"v1": 8, "v2": 16}  # channels of each toy weights tag
SEED = {"v1": 1, "v2": 2}  # the toy "pretrained" weights: drawn from this seed


def tiny(width: int = 8) -> torch.nn.Module:
    """A tiny classifier: one strided convolution, global pooling, a 1000-way linear head."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, 1000))


def from_config(config, **numerics) -> TorchBackend:
    """The backend of ``config`` (``numerics``: tf32 / channels_last / compile, from verify variants)."""
    tag = config.model_id.tag
    torch.manual_seed(SEED[tag] if config.pretrained else config.seed)
    module = tiny(WIDTH[tag])
    weights = f"toy {tag} (seed {SEED[tag]})" if config.pretrained else f"random(seed={config.seed})"
    return TorchBackend(module, config, {"weights": weights},
                        extra={"builder": config.spec.entry.builder}, **numerics)
