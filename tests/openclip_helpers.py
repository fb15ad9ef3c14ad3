"""The tiny open_clip test library (tests/plugins/openclip_tiny) made importable for tests."""
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "plugins" / "openclip_tiny"
#: the tiny model config (2 patches of 8 pixels... a 32-pixel, 1-layer ViT and text tower)
TINY_CONFIG = TINY / "octiny_imagenet_bench" / "tiny-clip.json"


def install_tiny(target: Path) -> Path:
    """Copy the test plugin into ``target`` with a dist-info that registers its entry point
    (``octiny = octiny_imagenet_bench.library:LIBRARY``), as an installed distribution would."""
    shutil.copytree(TINY / "octiny_imagenet_bench", target / "octiny_imagenet_bench")
    info = target / "octiny_imagenet_bench-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: octiny-imagenet-bench\n"
                                   "Version: 0.1.0\n")
    (info / "entry_points.txt").write_text("[imagenet_bench.libraries]\n"
                                           "octiny = octiny_imagenet_bench.library:LIBRARY\n")
    return target
