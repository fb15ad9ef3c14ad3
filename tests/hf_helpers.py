"""Tiny random transformers image classifiers saved locally (save_pretrained), one per image
processor kind, labelled with the ImageNet-1k classes in the tool's order."""
import json
import os
import shutil
from pathlib import Path

from conftest import VAL_SUBSET

#: processor kind -> folder name
KINDS = ("vit", "convnext", "convnext384", "resnet", "timm")
N_IMAGES = 32


def imagenet_id2label() -> dict:
    """{i: full WordNet lemma line} of the 1,000 classes in the tool's order (as Hub ports write)."""
    from imagenet_bench.data import imagenet_meta
    text = dict(line.split("\t", 1) for line in imagenet_meta.data_lines(imagenet_meta.LEMMA_FILE))
    return {i: text[w] for i, w in enumerate(imagenet_meta.wnids())}


def images(folder: Path, n: int = N_IMAGES) -> Path:
    """A flat folder of links to the first ``n`` real validation images."""
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted(VAL_SUBSET.iterdir())[:n]:
        os.symlink(src, folder / src.name)
    return folder


def _save(model, processor, folder: Path) -> Path:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build(kind: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random ``kind`` model (:data:`KINDS`) and its processor under ``folder``."""
    import torch
    import transformers as tf
    torch.manual_seed(seed)
    labels = dict(id2label=imagenet_id2label())
    if kind == "vit":
        cfg = tf.ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=64, **labels)
        proc = tf.ViTImageProcessor(size={"height": 32, "width": 32})
        return _save(tf.ViTForImageClassification(cfg), proc, folder)
    if kind in ("convnext", "convnext384"):
        cfg = tf.ConvNextConfig(num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], **labels)
        side = 48 if kind == "convnext" else 384  # below 384: resize side/crop_pct + crop; else warp
        proc = tf.ConvNextImageProcessor(size={"shortest_edge": side}, crop_pct=0.875)
        return _save(tf.ConvNextForImageClassification(cfg), proc, folder)
    if kind == "resnet":
        cfg = tf.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                              layer_type="basic", **labels)
        proc = tf.BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32})
        return _save(tf.ResNetForImageClassification(cfg), proc, folder)
    if kind == "timm":
        return timm_folder(folder)
    raise ValueError(kind)


TIMM_NAME = "test_resnet.r160_in1k"


def timm_folder(folder: Path) -> Path:
    """timm's ``TIMM_NAME`` with the tool's random weights (``timm:NAME --weights none``), saved
    as timm saves for the Hub (config.json + model.safetensors), which TimmWrapper loads."""
    import timm
    import torch
    from timm.models import save_for_hf

    from imagenet_bench.backends.torch import RANDOM_SEED
    torch.manual_seed(RANDOM_SEED)
    model = timm.create_model(TIMM_NAME, pretrained=False)
    if folder.exists():
        shutil.rmtree(folder)
    save_for_hf(model, str(folder))
    path = folder / "config.json"
    config = json.loads(path.read_text())
    # transformers passes num_classes itself; timm's model_args repeating it breaks its loader
    config.get("model_args", {}).pop("num_classes", None)
    path.write_text(json.dumps(config))
    return folder
