"""The model-library plugin registry (models/libraries.py): entry points, API version, duplicates."""
import importlib.metadata
import sys

import pytest

from imagenet_bench.cli import main as cli
from imagenet_bench.models import libraries
from imagenet_bench.models.libraries import PluginError


def reset() -> None:
    """Forget the libraries read so far (the tests here change the installed entry points)."""
    libraries._registry.cache_clear()


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install fake distributions (a dist-info with entry_points.txt, plus modules) on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    reset()

    def install(dist: str, entry_points: str, modules=None):
        info = tmp_path / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{libraries.GROUP}]\n{entry_points}\n")
        for name, text in (modules or {}).items():
            (tmp_path / f"{name}.py").write_text(text)
    yield install
    reset()
    for name in [m for m in sys.modules if m.startswith("fakeplugin")]:
        del sys.modules[name]


def test_the_package_libraries_are_registered_through_entry_points():
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=libraries.GROUP)}
    assert eps["torch"] == "imagenet_bench.backends.torch_plugin:LIBRARY"
    assert eps["keras"] == "imagenet_bench.backends.keras.plugin:LIBRARY"
    assert eps["timm"] == "imagenet_bench.backends.timm_plugin:LIBRARY"
    from imagenet_bench.backends import torch_plugin
    assert libraries.get("torch") is torch_plugin.LIBRARY
    assert libraries.names()[:3] == ("torch", "keras", "timm")  # declared order; timm is a fallback
    assert libraries.get("timm").fallback and not libraries.get("torch").fallback


def test_the_same_adapter_installed_twice_counts_once(plugins):
    before = libraries.names()
    plugins("imagenet_bench_wheel_copy", "torch = imagenet_bench.backends.torch_plugin:LIBRARY")
    assert libraries.names() == before


def test_two_libraries_of_one_name_are_refused(plugins, capsys):
    plugins("fakeplugin_dist", "torch = fakeplugin_a:LIBRARY",
            {"fakeplugin_a": "from imagenet_bench.backends.torch_plugin import LIBRARY\n"})
    with pytest.raises(PluginError) as e:
        libraries.names()
    msg = str(e.value)
    assert "two model libraries are both named 'torch'" in msg and "fakeplugin_a:LIBRARY" in msg
    assert "imagenet_bench.backends.torch_plugin:LIBRARY" in msg and "pip uninstall" in msg
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert "two model libraries are both named 'torch'" in err and "Traceback" not in err


@pytest.mark.parametrize("api", [1, 99])  # 1: before Capabilities.legacy2019 held a pipeline
def test_a_plugin_written_for_another_api_version_is_refused(plugins, capsys, api):
    plugins("fakeplugin_old", "old = fakeplugin_old:LIBRARY", {"fakeplugin_old": (
        "from dataclasses import replace\n"
        "from imagenet_bench.backends.torch_plugin import LIBRARY as T\n"
        f"LIBRARY = replace(T, name='old', plugin_api={api})\n")})
    assert libraries.PLUGIN_API not in (1, 99)
    with pytest.raises(PluginError, match=r"old = fakeplugin_old:LIBRARY \(distribution "
                                          rf"fakeplugin_old 0.1\) was written for plugin API {api}; "
                                          rf"this imagenet_bench speaks {libraries.PLUGIN_API}"):
        libraries.get("old")
    assert cli.main(["models", "resnet50"]) == 2
    assert f"was written for plugin API {api}" in capsys.readouterr().err


@pytest.mark.parametrize("module, expected", [
    ("LIBRARY = {'name': 'odd'}\n", "is a dict, not an imagenet_bench.models.libraries.Library"),
    ("import no_such_module_anywhere\n", "cannot be loaded (ModuleNotFoundError"),
    ("from dataclasses import replace\nfrom imagenet_bench.backends.torch_plugin import LIBRARY as T\n"
     "LIBRARY = replace(T, name='other')\n", "declares the name 'other'"),
])
def test_a_broken_plugin_is_named(plugins, module, expected):
    plugins("fakeplugin_bad", "odd = fakeplugin_bad:LIBRARY", {"fakeplugin_bad": module})
    with pytest.raises(PluginError, match="fakeplugin_bad") as e:
        libraries.libraries()
    assert expected in str(e.value)


def test_no_registered_library_says_how_to_install(monkeypatch):
    monkeypatch.setattr(libraries, "_entry_points", lambda: [])
    reset()
    try:
        with pytest.raises(PluginError, match=r"no model library is registered .* pip install -e \."):
            libraries.names()
    finally:
        reset()


def test_an_adapter_is_imported_only_when_a_model_runs():
    code = ("import sys; from imagenet_bench.models import libraries, catalog; "
            "n = len(catalog.entries()); libs = libraries.names(); "
            "print(n, libs, sorted(m for m in ('torch', 'timm', 'keras', 'tensorflow', 'open_clip', "
            "'transformers', 'imagenet_bench.backends.torch', 'imagenet_bench.backends.timm', "
            "'imagenet_bench.backends.openclip', 'imagenet_bench.backends.hf') if m in sys.modules))")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("('torch', 'keras', 'timm', 'openclip', 'hf') []")


def test_the_remembered_scan_is_the_scan_and_follows_installs(plugins):
    from imagenet_bench.models import entry_points
    fresh = [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=libraries.GROUP)]
    first = entry_points.entry_points(libraries.GROUP)  # scans, writes the cache
    import os
    assert os.path.isfile(entry_points.cache_path())
    again = entry_points.entry_points(libraries.GROUP)  # from the cache
    assert [(e.name, e.value) for e in first] == [(e.name, e.value) for e in again] == fresh
    assert again[0].load() is libraries.get(again[0].name)
    plugins("fakeplugin_new", "new = fakeplugin_new:LIBRARY", {"fakeplugin_new": (
        "from dataclasses import replace\n"
        "from imagenet_bench.backends.torch_plugin import LIBRARY as T\n"
        "LIBRARY = replace(T, name='new')\n")})
    assert "new" in [e.name for e in entry_points.entry_points(libraries.GROUP)]  # stamp changed
    reset()
    assert "new" in libraries.names()


def test_a_damaged_entry_point_cache_is_rescanned(monkeypatch):
    from imagenet_bench.models import entry_points
    fresh = [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=libraries.GROUP)]
    entry_points.entry_points(libraries.GROUP)
    with open(entry_points.cache_path(), "w") as f:
        f.write('{"format": 1, "stamp": [')
    assert [(e.name, e.value) for e in entry_points.entry_points(libraries.GROUP)] == fresh


def test_a_command_line_naming_its_command_builds_only_that_parser():
    parser = cli.build_parser(only="score")
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == ["score"]
    assert cli._named_command(["--debug", "score", "--precomputed", "X"]) == "score"
    assert cli._named_command(["--help"]) is None and cli._named_command(["nope"]) is None
    full = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert list(full.choices) == list(cli.COMMANDS)
