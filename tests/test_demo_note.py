"""``demo`` without ``--dir`` works in a temporary folder: it says that folder is gone as it
exits, and how to keep it (the paths it printed would otherwise point at nothing)."""
from pathlib import Path

from imagenet_bench.cli import main as cli
from imagenet_bench.commands import demo


def test_demo_says_its_temporary_folder_is_removed_and_how_to_keep_it(monkeypatch, capsys):
    seen = []

    def fake_run(work, device):  # the prediction itself is tested in tests/test_demo*.py
        seen.append(work)
        print(f"cache: {work}/runs/x.npz")
        return 0
    monkeypatch.setattr(demo, "_run_in", fake_run)
    assert cli.main(["demo"]) == 0
    err = capsys.readouterr().err
    assert f"the cache and images above were in {seen[0]}, a temporary folder removed" in err
    assert "Fix: `imagenet-bench demo --cache-dir DIR` keeps them" in err and not Path(seen[0]).exists()


def test_demo_with_dir_keeps_its_files_and_adds_no_note(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(demo, "_run_in", lambda work, device: 0)
    assert cli.main(["demo", "--dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "temporary folder" not in err and "demo files: " in err
