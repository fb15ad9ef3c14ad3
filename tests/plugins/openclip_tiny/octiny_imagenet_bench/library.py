"""The declaration of the test library ``octiny``: the open_clip library's capabilities and adapter
over a one-entry catalog of a tiny model config (standard library only)."""
from dataclasses import replace

from imagenet_bench.backends.openclip_plugin import LIBRARY as OPENCLIP

LIBRARY = replace(OPENCLIP, name="octiny", catalog=("octiny_imagenet_bench", "catalog.json"),
                  extra="octiny-imagenet-bench", description="a tiny open_clip config (tests)",
                  order=90, publisher="the openclip_tiny test plugin",
                  results_tables="octiny_imagenet_bench.results")
