"""Every command's `--format latex` compiles with pdflatex inside a minimal `article` that loads
exactly the packages the output's header comment names, without an error and without an
overfull line (a wide table is scaled to the text width). Skipped, with a message, where
pdflatex is not installed (Debian: apt-get install texlive-latex-base
texlive-latex-recommended)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.render.text import latex_escape

ROOT = Path(__file__).resolve().parent.parent
PDFLATEX = shutil.which("pdflatex")
needs_tex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (Debian: "
                               "apt-get install texlive-latex-base texlive-latex-recommended)")
runner = CliRunner()
NASTY = ROOT / "tests" / "fixtures" / "nasty_names.yaml"

SEED = ["--input", "12x12x3", "--kernel", "5", "--out", "256", "--no-bias"]
CASES: dict[str, list[str]] = {
    "layer-conv": ["layer", "conv", *SEED, "--explain"],
    "layer-dwsep": ["layer", "dwsep", *SEED, "--explain"],  # parts indented (was U+2002)
    "layer-octave": ["layer", "octave", "--input", "14x14x512", "--out", "512", "--kernel", "3",
                     "--padding", "1", "--explain"],  # α, ¾, ⌊⌋
    "layer-transposed-batch": ["layer", "transposed", "--input", "5x5x4", "--out", "8",
                               "--kernel", "2", "--stride", "2", "--batch", "8", "--dtype",
                               "fp16", "--device", "l4"],  # ≥, µs
    "compare-footnotes": ["compare", *SEED],  # [a] … footnotes, n/a [1]
    "compare-parts-explain": ["compare", "--input", "14x14x512", "--kernel", "3", "--out", "512",
                              "--padding", "1", "--parts", "--explain"],  # 11 columns, →
    "compare-device": ["compare", *SEED, "--device", "h100-sxm"],
    "compare-sweep": ["compare", "--input", "14x14x512", "--kernel", "3", "--out", "512",
                      "--padding", "1", "--variants", "conv,octave", "--sweep",
                      "alpha=0,0.25,0.5"],  # two-line cells
    "net-resnet50-depth1": ["net", "resnet50", "--depth", "1", "--explain"],
    "net-mobilenet_v2-top5": ["net", "mobilenet_v2", "--top", "5", "--dtype", "fp16"],
    "net-octave_resnet": ["net", "octave_resnet", "--depth", "1"],
    "net-by-kind": ["net", "efficientnet_b0", "--by", "kind", "--device", "l4"],
    "net-nasty-names": ["net", str(NASTY)],  # [ ] " # ; < > | % ` & \n in names
    "net-every-column": ["net", "resnet18", "--depth", "1", "--columns",
                         "kind,input,output,params,weights,bias,macs,flops,rf,jump,start,mem,"
                         "access,share"],  # the widest table: 15 columns
    "diff": ["diff", "resnet18", "resnet50"],  # Δ
    "diff-width": ["diff", "mobilenet_v2", "mobilenet_v2", "--set-b", "width=0.75"],
    "solve-size": ["solve", "conv", "--input", "28x28x1", "--output", "28", "--kernel", "5"],
    "solve-none": ["solve", "conv", "--input", "224x224x3", "--output", "113", "--stride", "2",
                   "--kernel", "3"],
    "solve-budget": ["solve", "conv", "--input", "56x56x64", "--kernel", "3", "--padding", "1",
                     "--max-macs", "300M", "--divisor", "8"],
    "solve-chain": ["solve", "conv", "--from", "224", "--to", "7"],
    "kinds": ["kinds"],
    "examples": ["examples"],
}


def latex_of(args: list[str]) -> str:
    result = runner.invoke(app, [*args, "--format", "latex"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def compile_latex(body: str, tmp_path: Path) -> str:
    """Compile `body` in a minimal article with the packages its first line names; the log."""
    first = body.splitlines()[0]
    assert first.startswith("% needs "), first
    packages = re.findall(r"\\usepackage\{([^}]+)\}", first)
    assert packages, first
    preamble = "".join(f"\\usepackage{{{p}}}\n" for p in packages)
    (tmp_path / "body.tex").write_text(body, encoding="utf-8")
    (tmp_path / "doc.tex").write_text(f"\\documentclass{{article}}\n{preamble}"
                                      "\\begin{document}\n\\input{body.tex}\n\\end{document}\n",
                                      encoding="utf-8")
    assert PDFLATEX is not None
    done = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=tmp_path, capture_output=True, timeout=300, check=False)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and not errors, "\n".join(errors) or log[-3000:]
    return log


@needs_tex
@pytest.mark.parametrize("name", list(CASES))
def test_every_command_latex_compiles_without_overfull_lines(name: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.chdir(ROOT)
    body = latex_of(CASES[name])
    assert body.isascii(), sorted({ch for ch in body if not ch.isascii()})
    log = compile_latex(body, tmp_path)
    assert "Overfull \\hbox" not in log, log[log.index("Overfull"):][:400]
    assert "Missing number" not in log and "Undefined control sequence" not in log


@needs_tex
def test_onnx_fold_warning_with_gamma_beta_compiles(tmp_path: Path) -> None:
    """An ONNX export with BatchNorm folded into its convs: the warning says γ, β."""
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "onnx::Conv_1"),
             numpy_helper.from_array(np.zeros((8,), np.float32), "onnx::Conv_2")]
    nodes = [helper.make_node("Conv", ["x", "onnx::Conv_1", "onnx::Conv_2"], ["c"],
                              name="/conv/Conv"),
             helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], inits)
    model = tmp_path / "folded.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    body = latex_of(["net", str(model)])
    assert r"$\gamma$, $\beta$" in body
    work = tmp_path / "tex"
    work.mkdir()
    assert "Overfull \\hbox" not in compile_latex(body, work)


@needs_tex
def test_hostile_text_compiles(tmp_path: Path) -> None:
    """Every ASCII special, controls, accents, CJK, emoji, RTL marks and a leading [ in one
    string: escaped, it compiles and shows no raw non-ASCII character."""
    hostile = ("[b] \\input{/etc/passwd} # $ % & ~ _ ^ { } < > | \" ` ' \x1b[31m \t "
               "é ñ Å ß ½ ¾ ² µ · × → ≤ ≥ … — “q” 中文 😀 \u202e \u00a0 \u2002 \u2009 \u2028 "
               "ǅ ﬁ Ω ϕ")
    text = latex_escape(hostile)
    assert text.isascii()
    assert "\\input{" not in text and "{[}b{]}" in text
    body = ("% needs \\usepackage{booktabs}, \\usepackage{graphicx}\n" + text + "\\par\n"
            + text + "\\\\\n" + text + "\n")
    compile_latex(body, tmp_path)


@pytest.mark.parametrize(("raw", "macro"), [
    ("Δ", r"$\Delta$"), ("γ", r"$\gamma$"), ("β", r"$\beta$"), ("×", r"$\times$"),
    ("→", r"$\to$"), ("¾", r"$\frac{3}{4}$"), ("\u2002", r"\enspace{}"), ("\u2009", r"\,"),
    ("≤", r"$\leq$"), ("…", r"\dots{}"), ("µ", r"$\mu$"), ("·", r"$\cdot$"),
    ("⌊", r"$\lfloor$"), ("⌋", r"$\rfloor$"), ("é", r"\'{e}"), ("²", "$^{2}$"),
    ("中", r"\texttt{U+4E2D}"), ("\x1b", r"\texttt{U+001B}"), ("[", "{[}"), ("_", r"\_")],
    ids=lambda v: f"U+{ord(v):04X}" if isinstance(v, str) and len(v) == 1 else None)
def test_each_non_ascii_character_is_a_macro(raw: str, macro: str) -> None:
    assert latex_escape(raw) == macro


def test_every_symbol_in_the_source_has_a_macro() -> None:
    """Every non-ASCII character in convcalc's own strings maps to a named macro, not to the
    code-point fallback (the fallback is for names from a hostile file)."""
    seen: set[str] = set()
    for path in (ROOT / "convcalc").rglob("*.py"):
        if path.parent.name in ("render",) and path.stem in ("html", "pictures", "table",
                                                             "layout"):
            continue  # drawing and terminal symbols (bars, ▏) never reach LaTeX
        seen |= {ch for ch in path.read_text(encoding="utf-8") if not ch.isascii()}
    fallback = sorted(ch for ch in seen if latex_escape(ch).startswith("\\texttt{U+"))
    assert fallback == [], fallback


def test_footnotes_never_start_a_line_with_a_bracket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    body = latex_of(CASES["compare-footnotes"])
    assert not [line for line in body.splitlines() if line.lstrip().startswith("[")]
    assert "{[}a{]} pointwise" in body
