"""`verify variants` OpenVINO rows on the real EfficientNet-Lite0 and real images (telemetry off).

Every row is checked against counts recomputed from the caches the run wrote;
the table on all 1,300 images is in docs/variants.md.
"""
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("openvino")
pytest.importorskip("nncf")

from test_variants_real import LITE0, _caches, _check_row, _lite0, _table  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.data.datasets import spaced_rows as pick_rows  # noqa: E402


@pytest.fixture
def telemetry_off(tmp_path, monkeypatch):
    """OpenVINO's documented opt-out (`opt_in_out --opt_out` writes 0 to ~/intel/openvino_telemetry),
    in a HOME of the test's own."""
    home = tmp_path / "home"
    (home / "intel").mkdir(parents=True)
    (home / "intel" / "openvino_telemetry").write_text("0")
    monkeypatch.setenv("HOME", str(home))
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    assert OptInChecker().check(enable_opt_in_dialog=False) == ConsentCheckResult.DECLINED
    return home


@pytest.mark.slow
def test_openvino_f32_default_and_int8_rows(tmp_path, capsys, telemetry_off):
    subset = _lite0()
    n, split = 20, 6
    cache_dir = tmp_path / "cache"
    rc = cli.main(["verify", "variants", *LITE0, "--variants", "openvino,openvino-default,openvino-int8",
                   "--n", str(n), "--calibration-split", str(split), "-b", "7", "--cache-dir", str(cache_dir),
                   "--no-progress", "--format", "csv", str(subset)])
    assert rc == 0
    table = _table(capsys.readouterr().out)
    assert list(table) == ["fp32", "openvino", "openvino-default", "openvino-int8"]
    caches = _caches(cache_dir)
    ref = caches["fp32"]
    for v in ("openvino", "openvino-default", "openvino-int8"):
        assert table[v]["status"] == "ok", table[v]
        _check_row(table[v], ref, caches[v], split)
        prov = caches[v].provenance
        assert prov["runtime"] == "openvino" and prov["openvino"]
        assert os.path.isfile(cache_dir / prov["ir_file"] / "model.bin")
    # f32 hint: the converted graph agrees with torch to float rounding
    assert caches["openvino"].provenance["inference_precision"] == "f32"
    assert float(table["openvino"]["max_abs_dprob"]) < 1e-3
    # the default precision depends on the CPU: recorded, not asserted
    default = caches["openvino-default"].provenance
    assert default["precision_hint"] == "none (the runtime's default)" and default["inference_precision"]
    int8 = caches["openvino-int8"].provenance
    calib = int8["quantization"]["calibration_images"]
    ids = datasets.discover(str(subset)).select(pick_rows(1300, n)).image_ids
    assert (calib["count"], calib["first"], calib["last"]) == (split, ids[0], ids[split - 1])
    assert int8["quantization"]["method"] == "nncf.quantize" and int8["nncf"]
    assert (telemetry_off / "intel" / "openvino_telemetry").read_text().strip() == "0"
