"""Effective robustness at the edges: predictions identical on val and a V2 copy give 0.00 for
every model, one at 0 % included (the measured value is moved inwards as the fit's input is),
and a fit through models all at one val accuracy is named as degenerate."""
import numpy as np
import pytest

from conftest import make_preds, official_files
from imagenet_bench.analysis import results

V2 = "imagenet-v2-matched-frequency"


def _identical(rights):
    """For each model (number of images right out of 12), a val cache and a V2 copy holding
    the same images with the same predictions."""
    files = official_files(4, 3)
    labels = np.repeat(np.arange(4), 3)
    out = []
    for i, right in enumerate(rights):
        top5 = np.stack([np.where(np.arange(12) < right, labels, (labels + 7) % 1000)]
                        + [(labels + k) % 1000 for k in (1, 2, 3, 4)], axis=1)
        for name, ids in (("imagenet-val", [f"{w}/{f}" for w, f in files]),
                          (V2, [f"{V2}/{c}/{f}" for c, (_, f) in zip(labels, files)])):
            out.append(make_preds(top5, labels, model=f"m{i}", ids=ids,
                                  dataset={"name": name}).validate())
    return out


def test_identical_predictions_give_zero_effective_robustness_even_at_zero_percent():
    table = results.across_sets(_identical([0, 3, 6, 12]))
    ers = {r["model"]: r[f"er_{V2}"] for r in table.rows}
    assert sorted(r["imagenet-val"] for r in table.rows) == [0.0, 25.0, 50.0, 100.0]
    assert ers == pytest.approx({m: 0.0 for m in ers}, abs=1e-9), ers
    # Taori et al.'s definition written out: measured minus the fit's prediction, both sides
    # with 0 and 100 % moved half an image inwards, on a fit of slope 1 and intercept 0
    fit = table.fits[V2]
    assert (fit.slope, fit.intercept) == pytest.approx((1.0, 0.0), abs=1e-9)


def test_a_fit_through_models_at_one_val_accuracy_is_named_degenerate():
    table = results.across_sets(_identical([6, 6, 6]))
    assert V2 not in table.fits
    (note,) = [n for n in table.notes if V2 in n]
    assert "the fit is degenerate, all 3 models with both caches have the same imagenet-val " \
           "top-1 (50.00 %)" in note and "Fix:" in note and "needs 3 or more" not in note


def test_too_few_models_says_how_many_there_are():
    table = results.across_sets(_identical([3, 6]))
    (note,) = [n for n in table.notes if V2 in n]
    assert "it needs 3 or more models with both imagenet-val and" in note and "(2 here)" in note


def test_val_without_official_file_names_has_no_real_column_and_one_note_naming_the_models():
    labels = np.repeat(np.arange(4), 3)
    top5 = np.stack([(labels + k) % 1000 for k in range(5)], axis=1)
    caches = [make_preds(top5, labels, model=f"m{i}", dataset={"name": "imagenet-val"}).validate()
              for i in range(2)]
    table = results.across_sets(caches)
    assert [(r["imagenet-val"], r["real"]) for r in table.rows] == [(100.0, None)] * 2
    (note,) = [n for n in table.notes if "ReaL" in n]
    assert note.startswith("no ReaL column for 2 models (torch:m0, torch:m1): image ")
    assert "is not an official ImageNet 2012 validation file" in note and "Fix:" in note
