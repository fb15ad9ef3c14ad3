"""Figures: rendered to PNG (exists, PNG header, sensible pixel size), lazy matplotlib."""
import struct
import subprocess
import sys

import pytest

from analysis_helpers import REFERENCE, SKIP_REASON, preds_for, save_all, val_ids
from imagenet_bench.cli import main as cli

pytest.importorskip("matplotlib")


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height, len(data)


ROWS = [
    {"framework": "torch", "model": "torch:resnet50", "acc1": 76.1, "acc1_low": 75.7,
     "acc1_high": 76.5, "published_acc1": 76.13},
    {"framework": "keras", "model": "keras:resnet50", "acc1": 70.4, "acc1_low": 70.0,
     "acc1_high": 70.8, "published_acc1": 74.9},
    {"framework": "torch", "model": "torch:vgg16", "acc1": 70.7, "acc1_low": 70.3,
     "acc1_high": 71.1, "published_acc1": 71.59},
]


def test_bar_chart_and_scatter_render(tmp_path):
    from imagenet_bench.report import plots
    bars = tmp_path / "bars.png"
    scatter = tmp_path / "scatter.png"
    assert plots.accuracy_bars(ROWS, str(bars), title="t") == str(bars)
    assert plots.published_scatter(ROWS, str(scatter)) == str(scatter)
    for path in (bars, scatter):
        w, h, size = _png_size(path)
        assert 300 <= w <= 3000 and 200 <= h <= 3000 and size > 5_000, (path, w, h, size)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_nothing_to_plot_is_a_clear_error(tmp_path):
    from imagenet_bench.report import plots
    from imagenet_bench.errors import BenchError
    with pytest.raises(BenchError, match="published"):
        plots.published_scatter([{"acc1": 1.0, "model": "x"}], str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_unknown_extension_is_a_clear_error(tmp_path, capsys):
    from imagenet_bench.report import plots
    from imagenet_bench.errors import BenchError
    with pytest.raises(BenchError, match=r"\.xyz.*\.png"):
        plots.accuracy_bars(ROWS, str(tmp_path / "f.xyz"))
    assert list(tmp_path.iterdir()) == []


def test_companion_path():
    from imagenet_bench.report import plots
    assert plots.companion_path("out/table.png", "published") == "out/table.published.png"


def test_score_plot_option_writes_both_figures(tmp_path):
    numbers = list(range(1, 11))
    _, labels = val_ids(numbers)
    save_all(tmp_path / "c", [preds_for(numbers, labels, "resnet50", "torch"),
                              preds_for(numbers, (labels + 1) % 990, "resnet50", "keras")])
    out = tmp_path / "table.png"
    assert cli.main(["score", "--precomputed", str(tmp_path / "c"), "--published",
                     "--plot", str(out)]) == 0
    for path in (out, tmp_path / "table.published.png"):
        assert _png_size(path)[2] > 5_000


def test_importing_plots_does_not_import_matplotlib():
    code = ("import sys; import imagenet_bench.report.plots, imagenet_bench.commands.score_analysis; "
            "sys.exit('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow  # matplotlib figures of the 34 models: seconds
@pytest.mark.skipif(not REFERENCE.is_dir(), reason=SKIP_REASON)
def test_reference_figures(tmp_path):
    out = tmp_path / "ref.png"
    assert cli.main(["score", "--precomputed", str(REFERENCE), "--published", "--plot",
                     str(out), "--format", "csv", "-o", str(tmp_path / "t.csv")]) == 0
    w, h, _ = _png_size(out)
    assert h > w / 2  # 34 bars: a tall figure
    assert _png_size(tmp_path / "ref.published.png")[2] > 20_000
