"""`convcalc layer` through typer's CliRunner: exit codes, stdout vs stderr, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app, main

runner = CliRunner()

SEED = ["layer", "conv", "--input", "12x12x3", "--kernel", "5", "--out", "256", "--no-bias"]


def run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args)
    assert not isinstance(result.exception, convcalc.ConvcalcError), "errors are handled"
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_contract_and_equals_the_api() -> None:
    code, out, _ = run([*SEED, "--format", "json"])
    assert code == 0
    data = json.loads(out)
    api = convcalc.analyze_layer({"kind": "conv", "out": 256, "kernel": 5, "bias": False},
                                 "12x12x3").to_dict()
    assert data == api
    assert set(data) == {"kind", "name", "input", "output", "params", "weight_params",
                         "bias_params", "macs", "flops", "receptive_field", "memory", "parts",
                         "warnings"}
    assert data["output"] == {"channels": 256, "spatial": [8, 8]}
    assert (data["params"], data["macs"], data["flops"]) == (19_200, 1_228_800, 2_457_600)
    assert data["receptive_field"]["size"] == [5, 5]


def test_table_shows_the_numbers() -> None:
    code, out, _ = run(SEED)
    assert code == 0
    for text in ("8×8×256", "19,200", "1,228,800", "2,457,600", "5×5"):
        assert text in out


def test_explain_substitutes_numbers() -> None:
    code, out, _ = run([*SEED, "--explain"])
    assert code == 0
    assert "5·5·3·256·8·8 = 1,228,800" in out


def test_dwsep_explain_shows_ratio() -> None:
    code, out, _ = run(["layer", "dwsep", "-i", "12x12x3", "--kernel", "5", "--out", "256",
                        "--no-bias", "--explain", "--format", "markdown"])
    assert code == 0
    assert "4.39 %" in out
    assert "5·5·1·3·8·8 = 4,800" in out


def test_csv_carries_raw_ints() -> None:
    code, out, _ = run(["layer", "dwsep", "-i", "12x12x3", "--kernel", "5", "--out", "256",
                        "--no-bias", "--format", "csv"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["path"] for r in rows] == ["dwsep", "dwsep.depthwise", "dwsep.pointwise"]
    assert [r["macs"] for r in rows] == ["53952", "4800", "49152"]


def test_per_axis_options_and_channels_first() -> None:
    code, out, _ = run(["layer", "transposed", "-i", "4x5x5", "--channels-first", "--out", "8",
                        "--kernel", "2,2", "--stride", "2", "--output-padding", "1,0",
                        "--groups", "2", "--no-bias", "-f", "json"])
    assert code == 0
    data = json.loads(out)
    assert data["output"]["spatial"] == [11, 10]
    assert data["macs"] == 1600


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "3", "--groups", "3"], 1,
     "groups=3 must divide the input channels (4)"),
    (["layer", "conv", "-i", "2x2x1", "--out", "2", "--kernel", "3"], 1,
     "smaller than the effective kernel"),
    (["layer", "cnov", "-i", "5x5x4", "--out", "2"], 2, "did you mean 'conv'"),
    (["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "x"], 2,
     "option --kernel: 'x' is not a whole number"),
    (["layer", "conv", "-i", "5y5", "--out", "2", "--kernel", "3"], 2, "bad shape"),
    (["layer", "transposed", "-i", "5x5x4", "--out", "2", "--kernel", "3",
      "--output-padding", "1"], 2, "output_padding=1 must be smaller than stride"),
    (["layer", "maxpool", "-i", "5x5x4", "--kernel", "3", "--groups", "2"], 2,
     "option --groups: maxpool has no groups; its options: --kernel, --stride, --padding, "
     "--dilation, --ceil-mode"),
    (["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "3,3,3"], 1,
     "has 3 axes but the input has 2"),
    (["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "0"], 2, "option --kernel: 0"),
    (["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "3", "--stride", "2",
      "--padding", "same"], 1, "padding='same' needs stride 1"),
])
def test_bad_input_is_one_line_and_exit_code(args: list[str], code: int, fragment: str) -> None:
    got, out, err = run(args)
    assert got == code
    assert out == ""
    assert fragment in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_format_is_a_usage_error() -> None:
    result = runner.invoke(app, [*SEED, "--format", "yaml"])
    assert result.exit_code == 2
    assert "yaml" in result.output


def test_main_prints_error_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["layer", "conv", "-i", "5x5x4", "--out", "2", "--kernel", "3", "--groups", "3"])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("convcalc: error: option --groups: groups=3")


def test_version_and_help() -> None:
    assert convcalc.__version__ in runner.invoke(app, ["--version"]).stdout
    result = runner.invoke(app, ["layer", "--help"])
    assert result.exit_code == 0
    assert "--kernel" in result.stdout


@pytest.mark.parametrize("args", [
    ["net", "resnet18", "--format", "json"],
    ["net", "resnet18", "--by", "kind"],
    ["net", "resnet18", "--depth", "1", "--dtype", "fp16", "--device", "h100"],
    ["net", "resnet18", "--conventions", "--format", "json"],
    ["net", "resnet18", "--format", "mermaid"],
])
def test_net_analyses_the_network_once(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A second analysis doubled `net`'s time once, unseen (the answer was the same)."""
    import convcalc.engine

    calls = []
    real = convcalc.engine.analyze_network

    def counted(*a: object, **k: object) -> object:
        calls.append(a[0])
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(convcalc.engine, "analyze_network", counted)
    code, _, err = run(args)
    assert code == 0, err
    assert calls == ["resnet18"]


@pytest.mark.parametrize("args", [
    ["layer", "dwsep", "-i", "56x56x128", "--kernel", "3", "--out", "128"],
    ["compare", "-i", "56x56x128", "--kernel", "3", "--out", "128"],
    ["net", "resnet18"],
    ["net", "resnet18", "--by", "kind"],
])
def test_csv_carries_bytes_and_bound(args: list[str]) -> None:
    """--dtype and --device add their fields to CSV as to JSON (layer and compare once lost
    them), and the bound in CSV is the JSON's exact value."""
    code, out, err = run([*args, "--dtype", "fp16", "--device", "l4", "--format", "csv"])
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert {"activation_bytes", "bound", "time"} <= set(table[0])
    code, js, _ = run([*args, "--dtype", "fp16", "--device", "l4", "--format", "json"])
    data = json.loads(js)
    first = (data.get("variants") or data.get("by_kind") or data.get("layers") or [data])[0]
    assert table[0]["activation_bytes"] == str(first["activation_bytes"])
    assert table[0]["time"] == str(first["roofline"]["time_s"])


# --- issue 18: messages speak the user's language ----------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["layer", "conv", "-i", "8x8x4", "--kernel", "3"],
     "convcalc: error: option --out: missing; conv needs it: a whole number ≥ 1 (output "
     "channels)"),
    (["layer", "grouped", "-i", "8x8x4", "--out", "8", "--kernel", "3"],
     "convcalc: error: option --groups: missing; grouped needs it: a whole number that divides "
     "the input and output channels"),
    (["layer", "conv", "-i", "8x8x4", "--out", "8", "--kernel", "3", "--stride", "0"],
     "convcalc: error: option --stride: 0 is not allowed; conv needs stride ≥ 1 (a whole number "
     "≥ 1, or one per axis like 3,5)"),
    (["layer", "octave", "-i", "8x8x4", "--out", "8", "--kernel", "3", "--alpha-in", "1.5"],
     "convcalc: error: option --alpha-in: must be in [0, 1)"),
    (["layer", "pointwise", "-i", "8x8x4", "--out", "8", "--kernel", "3"],
     "convcalc: error: option --kernel: pointwise has no kernel; its options: --out, --stride, "
     "--groups, --no-bias"),
    (["layer", "maxpool", "-i", "8x8x4", "--kernel", "3", "--no-bias"],
     "convcalc: error: option --no-bias: maxpool has no bias"),
    (["compare", "-i", "8x8x4", "--out", "8", "--kernel", "0"],
     "convcalc: error: option --kernel: 0 is not allowed"),
    (["solve", "conv", "-i", "8x8x4", "-o", "4", "--kernel", "0"],
     "convcalc: error: option --kernel: 0 is not allowed"),
])
def test_cli_errors_name_the_option_not_the_field(args: list[str], message: str) -> None:
    code, out, err = run(args)
    assert code == 2 and out == ""
    assert err.startswith(message), err
    assert "field '" not in err


def test_spec_errors_still_name_the_field(tmp_path: Path) -> None:
    spec = tmp_path / "n.yaml"
    spec.write_text("name: n\ninput: 8x8x4\nlayers:\n  - conv: {kernel: 3}\n")
    code, _, err = run(["net", str(spec)])
    assert code == 2
    assert "field 'out'" in err and "--out" not in err


def test_transposed_padding_same_lists_only_what_is_allowed() -> None:
    code, _, err = run(["layer", "transposed", "-i", "8x8x4", "--out", "8", "--kernel", "3",
                        "--padding", "same"])
    assert code == 2
    assert "'same' is not allowed" in err
    assert "'same' or 'valid'" not in err.split("not allowed", 1)[1]
    assert "expected a whole number ≥ 0, or one per axis like 3,5" in err
    # a conv takes them, and says so
    code, _, err = run(["layer", "conv", "-i", "8x8x4", "--out", "8", "--kernel", "3",
                        "--padding", "-1"])
    assert "'same' or 'valid'" in err


@pytest.mark.parametrize("command", [
    ["layer", "conv", "-i", "8x8x4", "--out", "8", "--kernel", "3"],
    ["compare", "-i", "8x8x4", "--out", "8", "--kernel", "3"],
    ["net", "resnet18"],
])
def test_empty_dtype_is_refused_naming_dtype(command: list[str]) -> None:
    code, out, err = run([*command, "--dtype", ""])
    assert code == 2 and out == ""
    assert "--dtype" in err and "fp32" in err


def test_option_names_come_from_the_typer_declarations() -> None:
    from convcalc.cli import layer, option_names, solve

    names = option_names(layer)
    assert names["out"] == "--out" and names["bias"] == "--no-bias"
    assert names["output_padding"] == "--output-padding" and names["input"] == "--input"
    assert option_names(solve)["max_kernel"] == "--max-kernel"


ATTENTION_KINDS = [
    # (`layer` options, the same layer as a spec's entry)
    ("self_attention -i 14x14x768 --heads 12", {"self_attention": {"heads": 12}}),
    ("self_attention -i 56x56x96 --head-dim 32 --window 7 --shift 3 --position-bias",
     {"self_attention": {"head_dim": 32, "window": 7, "shift": 3, "position_bias": True}}),
    ("self_attention -i 56x56x96 --heads 3 --window 8,8 --bias-mlp 512 --cosine",
     {"self_attention": {"heads": 3, "window": [8, 8], "bias_mlp": 512, "cosine": True}}),
    ("self_attention -i 28x28x64 --head-dim 32 --window 7 --partition grid --position-bias",
     {"self_attention": {"head_dim": 32, "window": 7, "partition": "grid",
                         "position_bias": True}}),
    ("mlp -i 196x768 --ratio 4", {"mlp": {"ratio": 4}}),
    ("mlp -i 196x768 --hidden 1000 --out 10 --activation relu --no-bias",
     {"mlp": {"hidden": 1000, "out": 10, "activation": "relu", "bias": False}}),
    ("patch_merging -i 56x56x96 --norm after --out 100",
     {"patch_merging": {"norm": "after", "out": 100}}),
    ("class_token -i 196x768 --count 2", {"class_token": {"count": 2}}),
    ("take_token -i 197x768 --index 5", {"take_token": {"index": 5}}),
    ("to_map -i 196x768 --size 14x14", {"to_map": {"size": [14, 14]}}),
]


@pytest.mark.parametrize(("args", "entry"), ATTENTION_KINDS, ids=[a for a, _ in ATTENTION_KINDS])
def test_attention_kinds_through_layer_equal_net(args: str, entry: dict[str, Any],
                                                 tmp_path: Path) -> None:
    """Each attention kind's options give the layer a one-layer spec gives `net`."""
    words = args.split()
    code, out, err = run(["layer", *words, "--format", "json"])
    assert code == 0, err
    layer = json.loads(out)
    spec = tmp_path / "one.yaml"
    spec.write_text(json.dumps({"input": words[2], "layers": [entry]}))
    code, out, err = run(["net", str(spec), "--format", "json"])
    assert code == 0, err
    totals = json.loads(out)["totals"]
    assert (layer["params"], layer["macs"]) == (totals["params"], totals["macs"])
    assert layer["output"] == json.loads(out)["output"]
