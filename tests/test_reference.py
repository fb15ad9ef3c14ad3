"""Smoke test on the 34 published 2019 outputs, and the framework-free scorer path."""
import csv
import io
import json
import subprocess
import sys

from imagenet_bench.cli import main as cli


def test_34_rows_valid_accuracies_ranks_a_permutation(reference_dir, capsys):
    assert cli.main(["score", "--precomputed", str(reference_dir), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 34
    assert sum(r["framework"] == "keras" for r in rows) == 13
    for r in rows:
        assert 0 <= float(r["acc1"]) <= float(r["acc5"]) <= 100
        assert int(r["images"]) == 50000
    assert sorted(int(r["rank1"]) for r in rows) == list(range(1, 35))
    assert sorted(int(r["rank5"]) for r in rows) == list(range(1, 35))
    acc1 = [float(r["acc1"]) for r in rows]
    assert acc1 == sorted(acc1, reverse=True)


SCRIPT = """
import json, sys
from imagenet_bench.cli import main as cli
code = cli.main(["score", "--precomputed", sys.argv[1], "--format", "json", "-o", sys.argv[2]])
heavy = [m for m in ("torch", "tensorflow", "keras", "pandas", "scipy", "matplotlib",
                     "tensorflow_datasets", "timm", "PIL", "transformers") if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_scoring_imports_no_framework(reference_dir, tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(reference_dir), str(tmp_path / "t.json")],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
    assert len(json.loads((tmp_path / "t.json").read_text())) == 34
