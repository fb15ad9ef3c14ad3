"""The docs' examples run: every ``imagenet-bench ...`` line of ``docs/*.md`` (code blocks, and
inline spans of a whole command line) is executed offline, or listed with the reason it cannot
be, so a stale module path, a renamed option or a count that changed fails CI.

How a line is made runnable here (:func:`argv_of`): placeholders become real inputs (``DIR``:
the shipped 2019 caches, or a scratch folder after an option that writes to it; ``VAL_DIR``/``VAL``: eight real val images; ``[...]`` optional parts
dropped; ``../shared`` and ``precomputed/`` resolved against this checkout), heavy inputs are
swapped for the eight images (``HEAVY``), and the command runs in-process in a scratch folder.
A doc line right below of the form ``# ID: acc@1 ...`` must match the id the run prints, and
``EXPECT`` holds the figures the prose states beside a command.

To exempt a new line, add ``(regex over the command, reason)`` to ``EXEMPT``; a rule that
matches no line any more fails :func:`test_every_exemption_still_matches_a_line`. Run
``python tests/test_docs_examples.py`` for the list (what runs, what is listed and why).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
from conftest import SHARED, VAL_SUBSET  # noqa: E402 (tests/: pytest's path, or the script's own folder)

SHIPPED = ROOT / "precomputed" / "northcutt2019"
SUBSET_TEXT = "../shared/imagenet-val-subset"

#: (regex searched in the command, reason it is not run here); first match wins
EXEMPT: List[Tuple[str, str]] = [
    (r"toy:|--framework toy", "the example plugin `toy` of EXTENDING.md is not installed"),
    (r"--precomputed runs\b", "reads the reader's own runs/ folder of caches"),
    (r"--precomputed OUT", "reads the caches of the lines above (pretrained weights)"),
    (r"--precomputed /tmp/dsl", "reads the caches the shell loop above writes"),
    (r"^predict --framework torch$", "names predict's option in prose"),
    (r"^robustness$", "reads runs/, where the openclip lines above write (pretrained weights)"),
    (r"--precomputed sweep/", "reads the reader's own sweep folder"),
    (r"\$d|\$\(|\$1", "a line of a shell loop (variables)"),
    (r" > | && ", "a shell pipeline (writes a script and submits it to SLURM)"),
    (r"--executor slurm", "submits to a SLURM cluster"),
    (r"/data/", "reads test sets under /data (the reader's ImageNet copy)"),
    (r"sweeps/convnext", "the sweep folder the /data example above plans"),
    (r"--model M\b", "placeholder M: the figures below it are per Keras model (Keras is not run "
     "in this test)"),
    (r"--framework torch --model resnet50", "downloads torchvision weights (no network here)"),
    (r"--framework keras|verify (drift|determinism)", "downloads Keras weights (no network here)"),
    (r"--weights \S+\.h5|--weights /tmp/", "reads a weights file the reader made"),
    (r"^predict .*(resnet50\.a1_in1k|openclip:)", "downloads pretrained weights (no network here)"),
    (r"--checkpoint model\.safetensors|--checkpoints? (runs|'runs)", "reads the reader's own "
     "checkpoints"),
    (r"verify variants --model M", "the synopsis of verify variants (M: any model)"),
    (r"verify variants .*efficientnet_lite0", "runs many variants (ONNX, OpenVINO, TensorRT, "
     "compile) over 1,300 images: minutes, and some need a GPU; docs/variants.md shows the output"),
    (r"verify variants -m openclip", "downloads pretrained weights (no network here)"),
    (r"prepare-val", "rewrites the reader's flat val folder into wnid folders"),
    (r"--debug COMMAND", "names the --debug switch, not a command"),
    (r"\bSKETCH_DIR\b", "reads the reader's ImageNet-Sketch copy"),
    (r"^predict -m torch:resnet50\b", "downloads torchvision weights (no network here)"),
    (r"^predict -m$", "names predict's option in prose"),
    (r"verify variants -m M\b", "the synopsis of verify variants (M: any model)"),
    (r"--data imagenet-a=A\b", "the synopsis of sweep plan (A: the reader's ImageNet-A copy)"),
    (r"^import ", "converts the reader's folder of 2019 outputs (tests/test_northcutt2019.py "
     "converts ../shared's copy)"),
    (r"--keep keep\.npy|--labels my_labels\.npy", "reads the reader's own index or label files"),
    (r"^sweep collect DIR\b", "the synopsis of sweep collect (DIR: the reader's sweep folder)"),
    (r"^predict -m hf:", "downloads a Hugging Face checkpoint (no network here; tests/test_hf_e2e.py "
     "runs local ones)"),
    (r"--corruptions summary\S*grid", "the synopsis of --corruptions (summary or grid)"),
    (r"^robustness --precomputed DIR --corruptions", "reads the reader's ImageNet-C caches "
     "(tests/test_imagenet_c.py builds a tree and runs it)"),
    (r"/tmp/on/", "reads the ObjectNet-layout tree the python line above builds "
     "(tests/test_objectnet.py builds it and runs EfficientNet-Lite0 on it)"),
]
#: commands whose input is swapped for the eight-image set (the full subset takes minutes)
HEAVY = (r"^predict ", r"^verify ")
#: figures the docs state beside a command: (regex over the command, texts its output holds)
EXPECT: List[Tuple[str, Tuple[str, ...]]] = [
    (r"^sweep plan sw -m '\*' --data imagenet-val=\.\./shared", ("1,723 models", "315 tasks",
                                                             "506 matched entries left out")),
]


@dataclass
class Example:
    """One ``imagenet-bench`` line of the docs."""

    doc: str  # docs/NAME.md:LINE
    command: str  # the text after ``imagenet-bench``, continuation lines joined
    comment: str = ""  # the doc line below, when a ``#`` comment
    inline: bool = False  # an inline span of prose

    @property
    def reason(self) -> Optional[str]:
        """Why it is not run here (None: it runs)."""
        if self.inline and len(self.command.split()) < 2:
            return "names the command in prose, not a runnable line"
        for pattern, why in EXEMPT:
            if re.search(pattern, self.command):
                return why
        left = re.findall(r"\b(?!VAL_DIR\b|VAL\b|DIR\b|N\b)[A-Z][A-Z_]{1,}\b",
                          re.sub(r"\[[^\]]*\]", "", _code(self.command)))
        if left:
            return f"placeholder {left[0]} (the reader's own input)"
        return None


def _code(command: str) -> str:
    """The command without its trailing ``# comment``."""
    return re.split(r"\s+#\s", command, maxsplit=1)[0]


def examples() -> List[Example]:
    """Every ``imagenet-bench`` command line of docs/*.md, in file and line order."""
    out: List[Example] = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        block, i = False, 0
        while i < len(lines):
            text = lines[i].strip()
            if text.startswith("```"):
                block = not block
            elif block and re.match(r"(\$ )?imagenet-bench \S+(?<!:)( |$)", text):
                cmd = text[2:] if text.startswith("$ ") else text
                start = i
                while cmd.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
                nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
                out.append(Example(f"docs/{path.name}:{start + 1}", cmd.split(" ", 1)[1],
                                   nxt if nxt.startswith("# ") else ""))
            elif not block:
                for span in re.findall(r"`imagenet-bench ([^`]+)`", lines[i]):
                    out.append(Example(f"docs/{path.name}:{i + 1}", span.strip(), inline=True))
            i += 1
    return out


#: options whose DIR the command writes to (a folder under the test's working folder, never
#: the shipped caches that a DIR to read stands for)
OUTPUT_OPTIONS = ("-o", "--out", "--output", "--cache-dir")


def argv_of(ex: Example, val: Path) -> List[str]:
    """The arguments a runnable example is run with (see the module docstring)."""
    code = re.sub(r"\[[^\]]*\]", "", _code(ex.command))
    if any(re.search(h, code) for h in HEAVY):
        code = code.replace(SUBSET_TEXT, str(val))
    code = code.replace("../shared/", f"{SHARED}/")
    args: List[str] = []
    for a in shlex.split(code):
        if a == "DIR" and args and args[-1] in OUTPUT_OPTIONS:  # written to: the test's folder
            a = "out"
        a = {"DIR": str(SHIPPED), "VAL_DIR": str(val), "VAL": str(val)}.get(a, a)
        a = re.sub(r"=(VAL_DIR|VAL)$", f"={val}", a)
        if a.startswith("precomputed/"):
            a = str(ROOT / a)
        args.append(a)
    return args


def test_every_example_runs_or_says_why_not():
    found = examples()
    assert len(found) >= 60, len(found)
    runnable = [e for e in found if e.reason is None]
    assert len(runnable) >= 12, [e.doc for e in runnable]
    assert {e.doc.split(":")[0] for e in runnable} >= {"docs/analysis.md", "docs/torch.md",
                                                       "docs/timm.md", "docs/sweep.md"}


def test_every_exemption_still_matches_a_line():
    commands = [e.command for e in examples()]
    for pattern, why in EXEMPT:
        assert any(re.search(pattern, c) for c in commands), f"stale exemption {pattern!r} ({why})"


@pytest.fixture(scope="module")
def eight_images(tmp_path_factory):
    if not VAL_SUBSET.is_dir():
        pytest.skip(f"{VAL_SUBSET} not found (../shared beside the repository)")
    val = tmp_path_factory.mktemp("docs-val") / "val"
    val.mkdir()
    for f in sorted(VAL_SUBSET.glob("*.JPEG"))[:8]:
        shutil.copy(f, val / f.name)
    return val


def _run(argv: List[str]) -> Tuple[int, str]:
    from imagenet_bench.cli import main as cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue() + err.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("ex", [pytest.param(e, id=e.doc) for e in examples() if e.reason is None])
def test_doc_example_runs(ex, eight_images, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = argv_of(ex, eight_images)
    if any(a in ("--plot",) for a in argv):
        pytest.importorskip("matplotlib")
    shipped = sorted(os.listdir(SHIPPED))
    rc, text = _run(argv)
    assert sorted(os.listdir(SHIPPED)) == shipped, f"{ex.doc} wrote into {SHIPPED}"
    assert rc == 0, f"{ex.doc}: imagenet-bench {' '.join(argv)} exited {rc}:\n{text[-3000:]}"
    assert "Traceback" not in text
    said = re.match(r"# (\S+): acc@1", ex.comment)
    if said:  # the id the doc shows is the id the run prints
        assert f"{said.group(1)}: acc@1" in text, f"{ex.doc}: {said.group(1)} not printed:\n{text}"
    for pattern, texts in EXPECT:
        if re.search(pattern, ex.command):
            for t in texts:
                assert t in text, f"{ex.doc}: {t!r} not in the output:\n{text[:3000]}"
                doc = ROOT / ex.doc.split(":")[0]
                number = re.search(r"[\d,]+", t).group(0)
                assert number in doc.read_text(encoding="utf-8"), f"{ex.doc} no longer says {number}"


if __name__ == "__main__":
    found = examples()
    run = [e for e in found if e.reason is None]
    print(f"{len(found)} imagenet-bench lines in docs/*.md: {len(run)} run, "
          f"{len(found) - len(run)} listed with their reason")
    for e in run:
        print(f"  run    {e.doc}: imagenet-bench {e.command}")
    for e in found:
        if e.reason is not None:
            print(f"  listed {e.doc}: imagenet-bench {e.command[:70]}  -- {e.reason}")
