"""The provenance of a run, built in one place from the RunConfig and the backend's declared facts.

:func:`of_run` is the run key: everything that must match for checkpoints and
shards to be combined, and what the cache records. The identity and the
settings come from the run's :class:`~imagenet_bench.run.config.RunConfig`
(``backend.config``) and win over anything a backend declares; the backend
adds only the facts it alone knows (``provenance()``: weights, preprocessing as
applied, library versions, device, runtime). :func:`finished` adds what the run
found (bad images, shards, dataset facts, timing) to the cache's copy. Only
the runner (:mod:`imagenet_bench.run.runner`, through :mod:`.checkpoint`)
calls these. Standard library only.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: provenance keys that come from the RunConfig, never from a backend's facts
IDENTITY_KEYS = ("model", "framework", "architecture", "weights_tag", "settings", "backend",
                 "preprocess_mode", "recipe_overrides", "numerics", "checkpoint_series")


def of_run(config, facts: Mapping[str, Any], valset, *, batch_size: int,
           save_all_probs: bool, save_logits: bool = False) -> Dict[str, Any]:
    """The run key and provenance of running ``config`` over ``valset`` (JSON-normalised).

    ``facts``: the backend's ``provenance()``; ``backend`` records the model
    library that ran it (``config.framework``; a runtime such as ONNX Runtime
    is a fact of its own, ``runtime``).
    """
    mid = config.model_id
    prov = {k: v for k, v in facts.items() if k not in IDENTITY_KEYS}
    prov.update(model=str(mid), framework=mid.framework, architecture=mid.arch,
                weights_tag=mid.tag or None, settings=list(mid.settings),
                backend=config.framework, preprocess_mode=config.preprocess,
                recipe_overrides=dict(config.overrides), numerics=config.amp or "fp32",
                fingerprint=valset.fingerprint, num_images=valset.num_images,
                batch_size=int(batch_size), save_all_probs=bool(save_all_probs))
    if save_logits:  # recorded only when true: a key without it matches caches made before it
        prov["save_logits"] = True
    if config.series is not None:  # a file's place in a checkpoint series (descriptive: run/series.py)
        prov["checkpoint_series"] = dict(config.series)
    return json.loads(json.dumps(prov, sort_keys=True))  # normalise tuples -> lists


def finished(key: Mapping[str, Any], valset, bad: List[Tuple[int, str]], shards: int,
             timing: Optional[Dict] = None) -> Dict[str, Any]:
    """The provenance a complete cache stores: the run key (less what the cache holds itself)
    plus the dataset's facts, the unreadable images (``bad``: (row, reason)), the number of
    shards and, when given, the run's speed record (:mod:`imagenet_bench.run.timing`, not
    part of the run key)."""
    prov = {k: v for k, v in key.items() if k not in ("fingerprint", "num_images")}
    subset = valset.class_subset
    prov.update(complete=True, shards=shards, dataset={
        "name": valset.dataset, "layout": valset.layout, "label_source": valset.label_source,
        "full_set": valset.is_full, "num_classes": valset.num_classes,
        **({"class_subset": list(subset)} if subset is not None else {}),
        **({"source": dict(valset.source)} if getattr(valset, "source", None) else {}),
        **(dict(valset.facts) if getattr(valset, "facts", None) else {})},
        bad_images=[{"image": valset.image_ids[r], "reason": reason} for r, reason in bad])
    if timing is not None:
        prov["timing"] = dict(timing)
    return prov
