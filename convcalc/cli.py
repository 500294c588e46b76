"""The command line: parse → library call → render. The only module that imports typer."""

from __future__ import annotations

import functools
import gc
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ParamSpec

import typer

from convcalc.errors import ConvcalcError, SpecError
from convcalc.render.formats import Format

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Exact output size, receptive field, parameters, MACs and memory of convolution layers "
         "and CNNs. Shapes are H×W×C (channels last), e.g. 12x12x3.",
)

def _format_names(incomplete: str) -> list[str]:
    from convcalc.render.formats import ALIASES

    return [n for n in [*Format, *ALIASES] if n.startswith(incomplete.lower())]


def _as_format(value: str | Format) -> Format:
    from convcalc.render.formats import parse_format

    if isinstance(value, Format):
        return value
    try:
        return parse_format(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


FormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", parser=_as_format, autocompletion=_format_names, metavar="FORMAT",
    help="Output format: table, json, csv, markdown (md), latex (tex), html; any case (default: "
         "table, or what the -o file's suffix says).")]
TextFormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", parser=_as_format, autocompletion=_format_names, metavar="FORMAT",
    help="Output format: table, json, csv, markdown (md), latex (tex); any case (default: "
         "table, or what the -o file's suffix says).")]
DiffFormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", parser=_as_format, autocompletion=_format_names, metavar="FORMAT",
    help="Output format: table, json, csv, markdown (md), latex (tex), mermaid, dot; any case "
         "(default: table, or what the -o file's suffix says).")]
NetFormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", parser=_as_format, autocompletion=_format_names, metavar="FORMAT",
    help="Output format: table, json, csv, markdown (md), latex (tex), mermaid, dot, html; any "
         "case (default: table, or what the -o file's suffix says).")]
OutputOption = Annotated[str | None, typer.Option(
    "--output", "-o", "--save", metavar="FILE",
    help="Write the report to FILE instead of standard output (- is standard output), whole "
         "and without colours; with no --format its suffix picks the format: .txt .json .csv "
         ".md .tex .html .mmd .dot.")]
WidthOption = Annotated[int | None, typer.Option(
    "--width", min=20, help="Fit tables to this many columns (default: the terminal's; the whole "
                            "table when the output is not a terminal).")]
UnitsOption = Annotated[str, typer.Option(
    "--units", help="Numbers in tables: auto (units only when it must fit), none, k, M, G, T.")]
BatchOption = Annotated[int | None, typer.Option(
    "--batch", min=1, help="Samples per pass: MACs and activations × N, parameters once "
                           "(also an N×C×H×W input with --channels-first).")]
DtypeOption = Annotated[str | None, typer.Option(
    "--dtype", help="Element type for bytes and time: fp32, fp16, bf16, int8.")]
DeviceOption = Annotated[str | None, typer.Option(
    "--device", help="A device preset for the roofline time bound: h100-sxm, a100-80gb, l4, "
                     "rtx-4090, jetson-orin-nano, apple-m2, rpi5-cpu, snapdragon-8g3-cpu, "
                     "h200-sxm, v100-sxm2, t4.")]
PeakOption = Annotated[str | None, typer.Option(
    "--peak-tflops", help="A custom device's dense peak in TFLOPS: 312, or fp32=19.5,fp16=312 "
                          "(with --bandwidth).")]
BandwidthOption = Annotated[str | None, typer.Option(
    "--bandwidth", help="A custom device's memory bandwidth in GB/s (with --peak-tflops).")]
ColumnsOption = Annotated[str | None, typer.Option(
    "--columns", help="Columns to show, in order: params,macs,rf,mem,flops,kind,... "
                      "(the layer name is always first).")]


def make_device(device: str | None, peak: str | None, bandwidth: str | None) -> Any:
    """The device for the roofline, or None."""
    if device is None and peak is None and bandwidth is None:
        return None
    from convcalc.hardware.devices import resolve_device

    return resolve_device(device, peak, bandwidth)


def text_settings(view: View) -> Any:
    """--columns and --units for the text formats (Markdown, LaTeX, CSV)."""
    from convcalc.render.layout import Settings

    return Settings(units=view.units, columns=view.columns)


def batch_of(input: str, channels_first: bool, batch: int | None) -> int:
    """The batch analysed: --batch, or the N of an N×C×H×W input (1 without either)."""
    from convcalc.engine import input_shape

    return input_shape(input, channels_first, batch)[1]


def make_view(width: int | None, units: str, columns: str | None) -> View:
    from convcalc.render.formats import UNITS

    if units not in UNITS:
        raise SpecError(f"option --units: {units!r} is not one of {', '.join(UNITS)}")
    return View(width, units, parse_columns(columns))


PICTURES_FOR_TRAIN = (Format.mermaid, Format.dot, Format.html)
"""What --train does not draw (checked before --by kind's own checks run); `net --train`
draws the html report (its training step memory chart)."""
TrainOption = Annotated[bool, typer.Option(
    "--train", help="A training step: backward MACs, what autograd keeps, memory and its peak.")]
FreezeOption = Annotated[list[str] | None, typer.Option(
    "--freeze", help="With --train: a layer or block path whose parameters get no gradient "
                     "(repeatable).")]
CheckpointOption = Annotated[list[str] | None, typer.Option(
    "--checkpoint", help="With --train: a block path run under activation checkpointing "
                         "(repeatable).")]
OptimizerOption = Annotated[str, typer.Option(
    "--optimizer", help="With --train: sgd, momentum, adam, adamw (its state's bytes).")]


ExplainOption = Annotated[bool, typer.Option("--explain", help="Show every formula with the "
                                                               "numbers substituted.")]
Axes = Annotated[str | None, typer.Option(help="One value, or one per axis: 3 or 3,5.")]
ConventionsOption = Annotated[bool, typer.Option(
    "--conventions", help="Also print what each peer tool (ptflops, fvcore, thop, torchinfo, "
                          "calflops, DeepSpeed) reports for this network as `convcalc export` "
                          "builds it, and why it differs from PyTorch's count.")]
ConventionOption = Annotated[str | None, typer.Option(
    "--convention", metavar="TOOL", help="Add a column with one tool's count per layer: torch, "
                                         "ptflops, ptflops-aten, fvcore, thop, torchinfo, "
                                         "calflops, calflops-flops, deepspeed, "
                                         "deepspeed-flops.")]


def _version(value: bool) -> None:
    if value:
        from convcalc import __version__

        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                is_eager=True, help="Print the version.")]
          = False) -> None:
    """convcalc: the cost of convolution layers and CNNs, without PyTorch."""


P = ParamSpec("P")


def friendly(command: Callable[P, None]) -> Callable[P, None]:
    """Run a command; a ConvcalcError becomes one line per problem on stderr and its exit code
    (1: does not fit, 2: malformed). Nothing half-printed reaches stdout: output is rendered
    only after the analysis succeeded."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except ConvcalcError as error:
            from convcalc.errors import for_options

            report_error(for_options(error, option_names(command)))
            raise typer.Exit(error.exit_code) from None

    return run


FIELD_OPTIONS = {"bias": "no_bias"}
"""Spec fields whose option has another name than the field (bias: false is --no-bias)."""


@functools.cache
def option_names(command: Callable[..., None]) -> dict[str, str]:
    """Spec field → the option a user types for it in `command` (out → --out, bias →
    --no-bias, output_padding → --output-padding), read from the command's typer
    declarations: the one place that maps a field error to the option."""
    import typing

    from typer.models import OptionInfo

    names: dict[str, str] = {}
    for param, hint in typing.get_type_hints(command, include_extras=True).items():
        info = next((m for m in getattr(hint, "__metadata__", ())
                     if isinstance(m, OptionInfo)), None)
        if info is None:
            continue
        decls = [d for d in (info.param_decls or ()) if d.startswith("--")]
        names[param] = decls[0] if decls else "--" + param.replace("_", "-")
    for field, param in FIELD_OPTIONS.items():
        if param in names:
            names[field] = names.pop(param)
    return names


def parse_axes(option: str, text: str, *, words: tuple[str, ...] = ()) -> int | list[int] | str:
    """`3` → 3, `3,5` or `3x5` → [3, 5]; `words` (e.g. same, valid) pass through. Exactly
    that grammar: no empty items (`3,`, `3,,3`), no spaces inside, no leading zeros."""
    from convcalc.numbers import NumberError, parse_whole, shown

    value = text.strip()
    if value in words:
        return value
    allowed = "a whole number or one per axis like 3,5" + (
        f", or {' / '.join(words)}" if words else "")
    if not re.fullmatch(r"-?[0-9]+(?:[,x×]-?[0-9]+)*", value):
        raise SpecError(f"option {option}: {shown(text)} is not {allowed}")
    try:
        numbers = [parse_whole(p, signed=True) for p in re.split(r"[,x×]", value)]
    except NumberError as e:
        raise SpecError(f"option {option}: {e}; {allowed}") from None
    return numbers[0] if len(numbers) == 1 else numbers


def unused_options(kind: str, fields: list[str], names: dict[str, str]) -> None:
    """Options given for fields this kind does not have: one error naming the options and
    listing the ones it takes (`layer pointwise --kernel 3`: pointwise is 1×1)."""
    from convcalc.layers import KINDS, canonical_kind

    model = KINDS.get(canonical_kind(kind))
    if model is None:
        return  # the analysis names the unknown kind
    extra = [names[f] for f in fields if f not in model.model_fields]
    if extra:
        takes = [names[f] for f in model.model_fields if f in names and f != "name"]
        raise SpecError(f"option {', '.join(extra)}: {kind} has no "
                        f"{' or '.join(e.removeprefix('--no-').removeprefix('--') for e in extra)}"
                        f"; its options: {', '.join(takes) or 'none beyond --input'}")


def warn_layout(text: str, channels_first: bool) -> None:
    """A warning on stderr when an H×W×C input looks like C×H×W (3x224x224)."""
    from convcalc.shapes import looks_channels_first, parse_shape

    if channels_first:
        return
    try:
        shape = parse_shape(text)
    except ConvcalcError:
        return  # the analysis reports it
    if looks_channels_first(shape):
        sizes = "x".join(map(str, (*shape.spatial[1:], shape.channels, shape.spatial[0])))
        sys.stderr.write(f"convcalc: warning: input {text} reads as H×W×C: "
                         f"{'×'.join(map(str, shape.spatial))} pixels with {shape.channels} "
                         f"channels; for {shape.spatial[0]} channels of "
                         f"{'×'.join(map(str, (*shape.spatial[1:], shape.channels)))} write "
                         f"{sizes} or add --channels-first\n")


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`--set width=0.75 --set input=160x160x3` → {"width": 3/4, "input": "160x160x3"}."""
    from convcalc.netspec import INPUT, set_value

    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not value.strip():
            raise SpecError(f"option --set: write name=value (e.g. --set width=0.75), got "
                            f"{item!r}")
        if key in out:
            raise SpecError(f"option --set: {key} is set twice")
        out[key] = value.strip() if key == INPUT else set_value(value)
    return out


COLUMN_ALIASES = {"rf": "rf_size", "jump": "rf_jump", "start": "rf_start", "mem": "activations",
                  "access": "access_cost", "share": "macs_share", "weights": "weight_params",
                  "bias": "bias_params", "in": "input_elements", "out": "output_elements",
                  "name": "path", "layer": "path", "ratio": "macs_ratio", "note": "error"}


@dataclass(frozen=True)
class View:
    """How tables are fitted: --width, --units, --columns."""

    width: int | None = None
    units: str = "auto"
    columns: tuple[str, ...] | None = None


BYTE_COLUMNS = ("activation_bytes", "param_bytes")
DEVICE_COLUMNS = ("bound", "intensity", "time")


def implied_dtype(view: View, dtype: str | None, device: object) -> str | None:
    """The dtype to cost in: --dtype, or fp32 when --columns asks for bytes without one; a
    roofline column without a device is refused (it has no numbers to show)."""
    asked = view.columns or ()
    wants = [c for c in asked if c in DEVICE_COLUMNS]
    if wants and device is None:
        raise SpecError(f"option --columns: {wants[0]} needs a device: --device NAME "
                        "(convcalc net --help lists them) or --peak-tflops and --bandwidth")
    if dtype is None and device is None and any(c in BYTE_COLUMNS for c in asked):
        return "fp32"
    return dtype


def parse_columns(text: str | None) -> tuple[str, ...] | None:
    """`params,macs,rf` → the registry's keys, aliases resolved; unknown names refused."""
    if text is None:
        return None
    from convcalc.render.columns import COLUMNS

    keys: list[str] = []
    for item in (s.strip() for s in text.split(",")):
        key = COLUMN_ALIASES.get(item, item)
        if key not in COLUMNS:
            choices = sorted({*COLUMNS, *COLUMN_ALIASES})
            from convcalc.spec import suggest

            raise SpecError(f"option --columns: unknown column {item!r}{suggest(item, choices)}; "
                            f"columns: {', '.join(sorted(COLUMNS))} (also "
                            f"{', '.join(sorted(COLUMN_ALIASES))})")
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def env_width() -> int | None:
    """CONVCALC_WIDTH: the width to fit tables to, piped or not (as --width)."""
    import os

    raw = os.environ.get("CONVCALC_WIDTH")
    if raw is None:
        return None
    if not raw.isdigit() or not 20 <= int(raw) <= 10_000:
        raise SpecError(f"CONVCALC_WIDTH={raw!r}: give a width from 20 to 10000")
    return int(raw)


def _warn(text: str) -> None:
    sys.stderr.write(f"convcalc: warning: {one_line(text)}\n")


def output_target(output: str | None, fmt: Format | None, inputs: tuple[str | None, ...] = (),
                  *, option: str = "-o/--output") -> tuple[Any, Format]:
    """The checked `-o` target (before any work: `-` is stdout; an input file, a directory or a
    missing folder refused) and the format: --format, else the file's suffix, else table."""
    from convcalc.output import check_target, format_for

    target = check_target(output, _input_files(inputs), option=option)
    return target, format_for(fmt, target, warn=_warn)


def _input_files(names: tuple[str | None, ...]) -> list[str]:
    """The files a command reads: each name as given, and a bundled example's file."""
    import os

    from convcalc.bundled import example_path

    files: list[str] = []
    for name in names:
        if name is None or name == "":
            continue
        files.append(name)  # "-": check_target compares the output with standard input's file
        if not os.path.exists(name):
            bundled = example_path(name)
            if bundled is not None:
                files.append(str(bundled))
    return files


def _emit(output: str | list[Any], view: View = View(), target: Any = None,
          what: str = "") -> None:
    """The output on stdout (tables fitted to the terminal), or written whole to the `-o`
    file (no colours, the whole table unless --width) with a line on stderr."""
    from convcalc.render.layout import Settings, plain, render

    if target is not None and not target.is_stdout:
        from convcalc.output import write_text, wrote_line

        if isinstance(output, str):
            text = output
        else:
            width = view.width if view.width is not None else env_width()
            text = plain(render(output, Settings(width=width, units=view.units,
                                                 columns=view.columns)))
        size = write_text(target, text)
        sys.stderr.write(wrote_line(target, size, what))
        return
    if isinstance(output, str):
        sys.stdout.write(output)
        return
    from convcalc.render.table import detect, write

    terminal = detect()
    width = view.width if view.width is not None else env_width() or terminal.width
    settings = Settings(width=width, units=view.units, columns=view.columns,
                        ascii=not terminal.can_show)
    write(render(output, settings), terminal)


def check_train_options(fmt: Format, command: str, unused: dict[str, object]) -> None:
    """--train draws no pictures (--format mermaid/dot; html only for net) and does not mix
    with options it would ignore: one line naming them."""
    from convcalc.render.pictures import text_only

    if command == "net" and fmt in (Format.mermaid, Format.dot):
        raise SpecError(f"--format {fmt.value} is not used with `convcalc net --train` (table, "
                        "json, csv, markdown, latex or html)")
    if not (command == "net" and fmt is Format.html):
        text_only(fmt, f"{command} --train")
    given = [name for name, value in unused.items() if value]
    if given:
        raise SpecError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply "
                        "with --train")


@app.command()
@friendly
def layer(
    kind: Annotated[str, typer.Argument(help="Layer kind: conv, pointwise, grouped, depthwise, "
                                             "dilated, dwsep, spatial_sep, transposed, "
                                             "pointwise_group, shuffle, shuffle_unit, octave, "
                                             "maxpool, avgpool, ... (see `convcalc kinds`).")],
    input: Annotated[str, typer.Option("--input", "-i", help="Input shape, H×W×C: 12x12x3; "
                                                             "L×C or D×H×W×C too.")],
    out: Annotated[int | None, typer.Option(help="Output channels.")] = None,
    kernel: Axes = None,
    stride: Axes = None,
    padding: Annotated[str | None, typer.Option(help="3, 3,5, same or valid.")] = None,
    dilation: Axes = None,
    groups: Annotated[int | None, typer.Option(help="Groups (divides C_in and C_out).")] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="Layers without bias.")] = False,
    output_padding: Axes = None,
    alpha_in: Annotated[str | None, typer.Option(help="Octave: low-frequency input share.")]
    = None,
    alpha_out: Annotated[str | None, typer.Option(help="Octave: low-frequency output share.")]
    = None,
    multiplier: Annotated[int | None, typer.Option(help="Depthwise channel multiplier.")] = None,
    mid: Annotated[int | None, typer.Option(help="Middle channels (spatial_sep, "
                                                 "shuffle_unit).")] = None,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Pooling: round up.")] = False,
    scale: Axes = None,
    mode: Annotated[str | None, typer.Option(help="Upsample mode: nearest or bilinear.")] = None,
    output_size: Axes = None,
    name: Annotated[str | None, typer.Option(help="A name for the layer.")] = None,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W: 8x7x7 = 8 channels of 7×7.")] = False,
    format: FormatOption = None,
    output: OutputOption = None,
    explain: ExplainOption = False,
    width: WidthOption = None,
    units: UnitsOption = "auto",
    batch: BatchOption = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    peak_tflops: PeakOption = None,
    bandwidth: BandwidthOption = None,
    conventions: ConventionsOption = False,
    convention: ConventionOption = None,
    train: TrainOption = False,
) -> None:
    """Analyse one layer: output shape, receptive field, parameters, MACs, memory. Formats:
    table, json, csv, markdown, latex, html (-o FILE writes it to a file)."""
    from convcalc.engine import analyze_layer
    from convcalc.render.views import layer_view

    target, format = output_target(output, format)
    spec: dict[str, Any] = {"kind": kind}
    given = {"out": out, "kernel": kernel, "stride": stride, "padding": padding,
             "dilation": dilation, "groups": groups, "bias": no_bias or None,
             "output_padding": output_padding, "alpha_in": alpha_in, "alpha_out": alpha_out,
             "multiplier": multiplier, "mid": mid, "ceil_mode": ceil_mode or None,
             "scale": scale, "mode": mode, "output_size": output_size}
    unused_options(kind, [f for f, v in given.items() if v is not None], option_names(layer))
    axes = {"kernel": kernel, "stride": stride, "dilation": dilation,
            "output_padding": output_padding, "scale": scale, "output_size": output_size}
    for field, text in axes.items():
        if text is not None:
            spec[field] = parse_axes("--" + field.replace("_", "-"), text)
    if padding is not None:
        spec["padding"] = parse_axes("--padding", padding, words=("same", "valid"))
    plain = {"out": out, "groups": groups, "alpha_in": alpha_in, "alpha_out": alpha_out,
             "multiplier": multiplier, "mid": mid, "mode": mode, "name": name}
    spec.update({k: v for k, v in plain.items() if v is not None})
    if no_bias:
        spec["bias"] = False
    if ceil_mode:
        spec["ceil_mode"] = True
    from convcalc.render.pictures import graph_options

    graph_options(format, {"--conventions": conventions, "--convention": convention})
    view = make_view(width, units, None)
    warn_layout(input, channels_first)
    report = analyze_layer(spec, input, channels_first=channels_first, batch=batch)
    from convcalc.engine import as_layer

    made = make_device(device, peak_tflops, bandwidth)
    model = as_layer(spec)
    cost = None
    if dtype is not None or made is not None:
        from convcalc.hardware.costing import layer_costing

        cost = layer_costing(model, report, dtype, made)
    if train:
        from convcalc.render.training_view import layer_training_output
        from convcalc.training import layer_training

        check_train_options(format, "layer", {"--conventions": conventions,
                                              "--convention": convention})
        facts = layer_training(report, model, batch=batch or 1, dtype=dtype or "fp32")
        _emit(layer_training_output(report, facts, format, explain=explain, costing=cost,
                                    settings=text_settings(view),
                                    batch=batch_of(input, channels_first, batch)), view, target)
        return
    if conventions or convention is not None:
        from convcalc.conventions import layer_peers
        from convcalc.render.conventions_view import layer_output

        peers = layer_peers(model, report, every=conventions, tool=convention)
        _emit(layer_output(report, peers, format, explain=explain, costing=cost), view, target)
        return
    _emit(layer_view(report, format, explain=explain, costing=cost, settings=text_settings(view),
                     batch=batch_of(input, channels_first, batch), view=view), view, target)


@app.command()
@friendly
def compare(
    input: Annotated[str, typer.Option("--input", "-i", help="Input shape, H×W×C: 12x12x3.")],
    kernel: Axes = None,
    out: Annotated[int | None, typer.Option(help="Output channels.")] = None,
    stride: Axes = None,
    padding: Annotated[str | None, typer.Option(help="3, 3,5, same or valid.")] = None,
    dilation: Axes = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="Layers without bias.")] = False,
    variants: Annotated[str | None, typer.Option(
        help="Comma-separated, with overrides: conv,grouped:groups=4,octave:alpha=0.5. "
             "Default: every variant.")] = None,
    baseline: Annotated[str, typer.Option(help="Variant the ratios refer to.")] = "conv",
    sweep: Annotated[list[str] | None, typer.Option(
        help="Vary one field: kernel=3,5,7 | groups=1,2,4,8 | alpha=0,0.25,0.5.")] = None,
    parts: Annotated[bool, typer.Option("--parts", help="Expand composites into parts.")]
    = False,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W.")] = False,
    format: FormatOption = None,
    output: OutputOption = None,
    explain: ExplainOption = False,
    width: WidthOption = None,
    units: UnitsOption = "auto",
    columns: ColumnsOption = None,
    batch: BatchOption = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    peak_tflops: PeakOption = None,
    bandwidth: BandwidthOption = None,
    train: TrainOption = False,
) -> None:
    """Every convolution variant on one input, side by side, with ratios to a baseline.
    Formats: table, json, csv, markdown, latex, html (-o FILE writes it to a file)."""
    from convcalc import compare as C
    from convcalc.render.views import compare_view, sweep_view

    target, format = output_target(output, format)
    options: dict[str, Any] = {}
    for field, text in {"kernel": kernel, "stride": stride, "dilation": dilation}.items():
        if text is not None:
            options[field] = parse_axes("--" + field, text)
    if padding is not None:
        options["padding"] = parse_axes("--padding", padding, words=("same", "valid"))
    if out is not None:
        options["out"] = out
    if no_bias:
        options["bias"] = False
    missing = [f"--{f}" for f in ("out", "kernel") if f not in options]
    if missing:
        raise SpecError(f"compare needs {' and '.join(missing)} (the standard conv to compare "
                        "against)")
    from convcalc.render.pictures import graph_options

    graph_options(format, {"--columns": columns})
    view = make_view(width, units, columns)
    chosen = C.parse_variants(variants)
    if sweep:
        if len(sweep) > 1:
            raise SpecError(f"option --sweep: one field at a time (got {len(sweep)}: "
                            f"{', '.join(s.partition('=')[0] for s in sweep)}); run one sweep per "
                            "field")
        if columns is not None:
            raise SpecError("option --columns: not used with --sweep (the matrix has one column "
                            "per swept value)")
        field, values = C.parse_sweep(sweep[0])
        result = C.sweep(input, options, field, values, chosen, baseline,
                         channels_first=channels_first, batch=batch)
        _emit(sweep_view(result, format, batch_of(input, channels_first, batch)), view, target)
        return
    warn_layout(input, channels_first)
    comparison = C.compare(input, options, chosen, baseline, channels_first=channels_first,
                           batch=batch)
    made = make_device(device, peak_tflops, bandwidth)
    cost = None
    if dtype is not None or made is not None:
        from convcalc.hardware.costing import costing

        cost = costing([r.report for r in comparison.results if r.report is not None], dtype,
                       made)
    if train:
        check_train_options(format, "compare", {})
    shown = compare_view(comparison, format, parts=parts, explain=explain, costing=cost,
                         settings=text_settings(view),
                         batch=batch_of(input, channels_first, batch), view=view)
    if train:
        from convcalc.engine import as_layer
        from convcalc.render.training_view import compare_training_output
        from convcalc.training import layer_training

        facts = {r.variant: layer_training(r.report, as_layer(r.spec), batch=batch or 1,
                                           dtype=dtype or "fp32")
                 for r in comparison.results if r.report is not None}
        shown = compare_training_output(comparison, facts, format, shown, text_settings(view))
    _emit(shown, view, target)


@app.command()
@friendly
def net(
    spec: Annotated[str, typer.Argument(help="Network spec: a YAML file (.yaml, see README), a "
                                             "bundled example by name (convcalc examples), an "
                                             "ONNX model (.onnx), or - for standard input.")],
    input: Annotated[str | None, typer.Option("--input", "-i", help="Override the spec's "
                                                                    "input shape.")] = None,
    depth: Annotated[int | None, typer.Option(min=0, help="Collapse blocks deeper than N into "
                                                          "subtotal rows.")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="List the K most expensive layers.")]
    = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Set a spec parameter: --set width=0.75 (repeatable); --set "
                      "input=160x160x3 sets the input.")] = None,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W: 3x224x224.")] = False,
    format: NetFormatOption = None,
    output: OutputOption = None,
    explain: ExplainOption = False,
    width: WidthOption = None,
    units: UnitsOption = "auto",
    columns: ColumnsOption = None,
    batch: BatchOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Group the cost: --by kind (how much "
                                                        "is pointwise, depthwise, …).")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    peak_tflops: PeakOption = None,
    bandwidth: BandwidthOption = None,
    conventions: ConventionsOption = False,
    convention: ConventionOption = None,
    train: TrainOption = False,
    freeze: FreezeOption = None,
    checkpoint: CheckpointOption = None,
    optimizer: OptimizerOption = "adam",
) -> None:
    """Analyse a network (a YAML spec, a bundled example, an ONNX model or - for stdin): per-layer
    shapes, params, MACs, receptive field. Formats: table, json, csv, markdown, latex, mermaid,
    dot, html (-o FILE writes it to a file)."""
    from convcalc.api import analyze_network
    from convcalc.render.pictures import graph_options
    from convcalc.render.views import net_view

    target, format = output_target(output, format, (spec,))
    graph_options(format, {"--dtype": dtype, "--device": device, "--peak-tflops": peak_tflops,
                           "--bandwidth": bandwidth, "--conventions": conventions,
                           "--convention": convention, "--columns": columns})
    view = make_view(width, units, columns)
    if train and (by is not None or format in PICTURES_FOR_TRAIN):
        check_train_options(format, "net", {"--by": by})
    if by not in (None, "kind"):
        raise SpecError(f"option --by: {by!r}: group by kind (the only grouping)")
    if input is not None:
        warn_layout(input, channels_first)
    if by == "kind":
        from convcalc.render.pictures import text_only

        text_only(format, "net --by kind")
        unused = [name for name, given in (("--depth", depth is not None), ("--top", top),
                                           ("--columns", columns), ("--explain", explain),
                                           ("--conventions", conventions),
                                           ("--convention", convention)) if given]
        if unused:
            raise SpecError(f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not "
                            "apply to --by kind (one row per layer kind; --dtype and --device "
                            "add its bytes and bound)")
    report = analyze_network(spec, input, params=parse_sets(set_ or []),
                             channels_first=channels_first or None, batch=batch)
    made = make_device(device, peak_tflops, bandwidth)
    chosen = implied_dtype(view, dtype, made)
    cost = None
    if chosen is not None or made is not None:
        from convcalc.hardware.costing import network_costing

        cost = network_costing(report, chosen, made)
    if by == "kind":
        from convcalc.diff import by_kind
        from convcalc.render.views import by_kind_view

        _emit(by_kind_view(report, by_kind(report, cost), format, cost, text_settings(view)),
              view, target)
        return
    if train or freeze or checkpoint or optimizer != "adam":
        from convcalc.render.training_view import net_training_output
        from convcalc.training import train_from_options

        check_train_options(format, "net", {"--by": by, "--convention": convention})
        training = train_from_options(report, enabled=train, freeze=freeze,
                                      checkpoint=checkpoint, optimizer=optimizer, dtype=dtype,
                                      device=made)
        counts = None
        if conventions:
            from convcalc.training.conventions import training_conventions

            counts = training_conventions(report, training)
        _emit(net_training_output(report, training, format, depth=depth, top_k=top,
                                  explain=explain, costing=cost, conventions=counts,
                                  settings=text_settings(view)),
              view, target)
        return
    other_ops = view.columns is not None and "other_ops" in view.columns
    if conventions or convention is not None or other_ops:
        from convcalc.conventions import net_peers
        from convcalc.render.conventions_view import net_output

        peers = net_peers(report, every=conventions, tool=convention)
        _emit(net_output(report, peers, format, depth=depth, top_k=top, explain=explain,
                         costing=cost, other_ops_column=other_ops), view, target)
        return
    shown = net_view(report, format, depth=depth, top_k=top, explain=explain, costing=cost,
                     settings=text_settings(view), view=view)
    if format is Format.mermaid and isinstance(shown, str):
        from convcalc.render.diagram import mermaid_warning

        warning = mermaid_warning(shown)
        if warning:
            sys.stderr.write(f"convcalc: warning: {warning}\n")
    _emit(shown, view, target)

@app.command()
@friendly
def diff(
    a: Annotated[str, typer.Argument(help="The first network: a YAML file (.yaml), a bundled "
                                          "example by name, an ONNX model (.onnx) or - for "
                                          "standard input.")],
    b: Annotated[str, typer.Argument(help="The second network (the same kinds of input).")],
    depth: Annotated[int, typer.Option(min=0, help="Compare levels this deep.")] = 1,
    set_a: Annotated[list[str] | None, typer.Option("--set-a", help="A parameter of the first: "
                                                    "--set-a width=1.0.")] = None,
    set_b: Annotated[list[str] | None, typer.Option("--set-b", help="A parameter of the "
                                                    "second: --set-b width=0.75.")] = None,
    format: DiffFormatOption = None,
    output: OutputOption = None,
    width: WidthOption = None,
    units: UnitsOption = "auto",
) -> None:
    """Two networks side by side: totals and per-level deltas (e.g. a spec at two widths).
    Formats: table, json, csv, markdown, latex, mermaid, dot (-o FILE writes it to a file)."""
    from convcalc.api import analyze_network
    from convcalc.diff import diff_networks
    from convcalc.render.formats import PICTURES
    from convcalc.render.views import diff_view

    target, format = output_target(output, format, (a, b))
    if format is Format.html:
        from convcalc.render.pictures import diff_picture

        diff_picture(None, format)  # refused in one line, before any work
    view = make_view(width, units, None)
    first = analyze_network(a, params=parse_sets(set_a or []))
    second = analyze_network(b, params=parse_sets(set_b or []))
    compared = diff_networks(first, second, depth)
    if format in PICTURES:
        from convcalc.render.pictures import diff_picture

        _emit(diff_picture(compared, format), view, target)
        return
    _emit(diff_view(compared, format, (a, b), text_settings(view)), view, target)


class ExportTarget(StrEnum):
    pytorch = "pytorch"


@app.command()
@friendly
def export(
    spec: Annotated[str, typer.Argument(help="Network spec: a YAML file (.yaml), a bundled "
                                             "example by name, an ONNX model (.onnx) or - for "
                                             "standard input.")],
    to: Annotated[ExportTarget, typer.Option("--to", help="What to write.")] = ExportTarget.pytorch,
    output: Annotated[str | None, typer.Option("--output", "-o", "--save", metavar="FILE",
                                               help="File to write (default, or -: standard "
                                                    "output); never one of the inputs.")] = None,
    input: Annotated[str | None, typer.Option("--input", "-i", help="Override the spec's "
                                                                    "input shape.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Set a spec parameter: --set width=0.75 (repeatable).")] = None,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W.")] = False,
) -> None:
    """Write the network as a runnable PyTorch module (build() and INPUT; imports only torch)."""
    from convcalc.api import analyze_network
    from convcalc.bridges.pytorch_export import export_pytorch
    from convcalc.output import check_target

    target = check_target(output, _input_files((spec,)))
    report = analyze_network(spec, input, params=parse_sets(set_ or []),
                             channels_first=channels_first or None)
    code = export_pytorch(report, spec)
    _emit(code, target=target, what=f"{report.name} as a PyTorch module "
                                    f"({len(report.rows):,} layers)")


@app.command("import")
@friendly
def import_(
    file: Annotated[str | None, typer.Argument(help="An ONNX file (.onnx).")] = None,
    torch: Annotated[str | None, typer.Option(
        "--torch", help="A PyTorch model instead: package.module:factory, a callable that "
                        "returns an nn.Module (torchvision.models:resnet50).")] = None,
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input shape, H×W×C: "
                                              "224x224x3 (needed with --torch, and for an ONNX "
                                              "file with dynamic dims).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", "--save", metavar="FILE",
                                               help="File to write (default, or -: standard "
                                                    "output); never the model itself.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse operators convcalc cannot "
                                                          "count (exit 1).")] = False,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W.")] = False,
    unfold_bn: Annotated[bool, typer.Option("--unfold-bn", help="An ONNX file whose BatchNorms "
                                            "were folded into the convs at export: write each "
                                            "folded conv as conv (no bias) + BatchNorm, the "
                                            "source model.")] = False,
) -> None:
    """Write the spec of an ONNX file or a PyTorch model (what `convcalc net` reads)."""
    from convcalc.output import check_target
    from convcalc.shapes import parse_shape

    if (file is None) == (torch is None):
        raise SpecError("import needs an ONNX file or --torch package.module:factory (one of "
                        "them)")
    target = check_target(output, [*_input_files((file,)), *_module_file(torch, output)])
    shape = None if input is None else parse_shape(input, channels_first=channels_first)
    if torch is not None:
        if unfold_bn:
            raise SpecError("--unfold-bn applies to an ONNX file (a torch model's BatchNorms "
                            "are never folded)")
        if shape is None:
            raise SpecError("--torch needs --input SHAPE (H×W×C, e.g. 224x224x3)")
        from convcalc.bridges.torch_import import import_torch

        result = import_torch(torch, shape, strict=strict)
    else:
        from convcalc.bridges.onnx_import import import_onnx

        assert file is not None
        result = import_onnx(file, shape, strict=strict, unfold_bn=unfold_bn)
    for note in result.notes:
        sys.stderr.write(f"convcalc: note: {one_line(note)}\n")
    for warning in result.warnings:
        sys.stderr.write(f"convcalc: warning: {one_line(warning)}\n")
    _emit(result.yaml, target=target, what=one_line(str(result.spec["name"])))


def _module_file(factory: str | None, output: str | None) -> list[str]:
    """The source file of `--torch package.module:factory` (an input, never to be overwritten),
    looked up only when -o names a Python file."""
    if factory is None or output is None or not output.endswith(".py"):
        return []
    module = factory.rpartition(":")[0] or factory
    if module.endswith(".py") or "/" in module:
        return [module]  # --torch ./model.py:build names the file
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    return [found.origin] if found is not None and found.origin else []


@app.command()
@friendly
def solve(
    kind: Annotated[str, typer.Argument(help="conv, dilated, depthwise, grouped, transposed, "
                                             "maxpool or avgpool; or batch (with SPEC, --device "
                                             "and --train: the largest batch that fits).")],
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input shape, H×W×C: "
                                                                    "28x28x1.")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output size wanted: 28, "
                                                                      "28x28, same or valid "
                                                                      "(TensorFlow's).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Chain: from this size (224).")]
    = None,
    end: Annotated[str | None, typer.Option("--to", help="Chain: to this size (7).")] = None,
    strides: Annotated[str | None, typer.Option(help="Chain: strides a layer may use, 2 or "
                                                     "2,4 (default 2).")] = None,
    max_layers: Annotated[int | None, typer.Option(help="Chain: at most N layers (default "
                                                        "8).")] = None,
    kernel: Axes = None,
    stride: Axes = None,
    padding: Axes = None,
    dilation: Annotated[str | None, typer.Option(help="One value, or one per axis: 2 or 1,2; "
                                                      "any searches it (default 1).")] = None,
    output_padding: Axes = None,
    groups: Annotated[int | None, typer.Option(help="Groups (divides C_in and C_out).")] = None,
    out: Annotated[int | None, typer.Option(help="Output channels (default: the input's).")]
    = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="Layers without bias.")] = False,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Pooling: round up.")] = False,
    max_macs: Annotated[str | None, typer.Option(help="Budget: the largest out within these "
                                                      "MACs: 300M, 1.5G, 25k.")] = None,
    max_params: Annotated[str | None, typer.Option(help="Budget: ... within these params.")]
    = None,
    divisor: Annotated[int | None, typer.Option(help="Budget: out a multiple of N.")] = None,
    max_kernel: Annotated[int | None, typer.Option(help="Search kernels up to N (11).")] = None,
    max_stride: Annotated[int | None, typer.Option(help="Search strides up to N (8).")] = None,
    max_dilation: Annotated[int | None, typer.Option(help="Search dilations up to N (4).")]
    = None,
    limit: Annotated[int | None, typer.Option(help="List at most N answers (20).")] = None,
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W.")] = False,
    format: TextFormatOption = None,
    save: Annotated[str | None, typer.Option(
        "--save", metavar="FILE",
        help="Write the answers to FILE (here -o/--output is the size wanted); - is standard "
             "output; with no --format its suffix picks the format: .txt .json .csv .md "
             ".tex.")] = None,
    width: WidthOption = None,
    spec: Annotated[str | None, typer.Argument(help="solve batch: the network spec.")] = None,
    device: DeviceOption = None,
    train: TrainOption = False,
    dtype: DtypeOption = None,
    optimizer: OptimizerOption = "adam",
    freeze: FreezeOption = None,
    checkpoint: CheckpointOption = None,
) -> None:
    """Ask backwards: the padding, stride, kernel... that give an output size (the fields left
    out are searched); the largest out within a MACs or params budget; the chains of layers
    from one size to another; `solve batch SPEC --device D --train`: the largest batch whose
    training step fits the device. No answer is not an error: it prints none and the nearest.
    Formats: table, json, csv, markdown, latex (--save FILE writes it to a file)."""
    from convcalc.render.pictures import text_only

    target, format = output_target(save, format, (spec,) if kind == "batch" else (),
                                   option="--save")
    text_only(format, "solve")
    if kind == "batch":
        from convcalc.render.training_view import solve_batch_view
        from convcalc.training.solve import solve_batch

        fit, made, name = solve_batch(spec, device=device, train=train, dtype=dtype,
                                      optimizer=optimizer, freeze=freeze or (),
                                      checkpoint=checkpoint or (), input=input,
                                      channels_first=channels_first)
        _emit(solve_batch_view(fit, made, name, format), make_view(width, "auto", None), target)
        return
    if spec is not None or device is not None or train or dtype is not None:
        raise SpecError("SPEC, --device, --train and --dtype belong to solve batch")
    from convcalc import solve as S
    from convcalc.render.solve_view import solve_view

    fixed: dict[str, Any] = {}
    axes = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "output_padding": output_padding}
    for field, text in axes.items():
        if text is not None:
            fixed[field] = parse_axes("--" + field.replace("_", "-"), text,
                                      words=("any",) if field == "dilation" else ())
    fixed.update({k: v for k, v in {"groups": groups, "out": out}.items() if v is not None})
    if no_bias:
        fixed["bias"] = False
    if ceil_mode:
        fixed["ceil_mode"] = True
    unused_options(kind, list(fixed), option_names(solve))
    chain_options = {"--from": start, "--to": end, "--strides": strides,
                     "--max-layers": max_layers}
    budget_options = {"--max-macs": max_macs, "--max-params": max_params, "--divisor": divisor}
    size_options = {"--output": output, "--max-kernel": max_kernel, "--max-stride": max_stride,
                    "--max-dilation": max_dilation}
    if start is not None or end is not None:
        _not_with("a chain (--from/--to)", {"--input": input, **size_options, **budget_options,
                                            "--channels-first": channels_first or None})
        if start is None or end is None:
            raise SpecError("a chain needs both --from and --to")
        steps = parse_axes("--strides", strides) if strides is not None else 2
        result = S.chain(kind, start, end, fixed,
                         strides=[steps] if isinstance(steps, int) else [*steps],
                         max_layers=8 if max_layers is None else max_layers,
                         limit=S.DEFAULT_LIMIT if limit is None else limit)
    elif max_macs is not None or max_params is not None:
        _not_with("a budget (--max-macs/--max-params)", {**size_options, **chain_options,
                                                         "--limit": limit})
        result = S.budget(kind, _need_input(input), fixed, max_macs=max_macs,
                          max_params=max_params, divisor=1 if divisor is None else divisor,
                          channels_first=channels_first)
    else:
        _not_with("an output size (--output)", {**chain_options, **budget_options})
        if output is None:
            raise SpecError("solve needs --output SIZE (or --max-macs/--max-params for a "
                            "budget, or --from/--to for a chain)")
        chosen = {"kernel": max_kernel, "stride": max_stride, "dilation": max_dilation}
        bounds = S.Bounds(**{k: v for k, v in chosen.items() if v is not None})
        result = S.solve(kind, _need_input(input), output, fixed, bounds=bounds,
                         limit=S.DEFAULT_LIMIT if limit is None else limit,
                         channels_first=channels_first)
    _emit(solve_view(result, format), make_view(width, "auto", None), target)


def _not_with(mode: str, options: dict[str, object]) -> None:
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise SpecError(f"{', '.join(given)}: not used with {mode}")


def _need_input(text: str | None) -> str:
    if text is None:
        raise SpecError("solve needs --input SHAPE (H×W×C, e.g. 28x28x1)")
    return text


@app.command()
@friendly
def schema(output: OutputOption = None) -> None:
    """Print the JSON Schema of the network spec format (for editor completion); -o FILE writes
    it to a file (JSON, whatever the suffix)."""
    from convcalc.output import check_target
    from convcalc.render.text import to_json
    from convcalc.schema import network_schema

    target = check_target(output)
    _emit(to_json(network_schema()) + "\n", target=target)


@app.command()
@friendly
def examples(format: TextFormatOption = None, output: OutputOption = None,
             width: WidthOption = None) -> None:
    """List the example networks installed with convcalc (use them by name: convcalc net
    resnet50). Formats: table, json, csv, markdown, latex (-o FILE writes it to a file)."""
    from convcalc.catalog import example_catalog
    from convcalc.render.pictures import text_only
    from convcalc.render.views import examples_view

    target, format = output_target(output, format)
    text_only(format, "examples")
    _emit(examples_view(example_catalog(), format), make_view(width, "auto", None), target)


@app.command()
@friendly
def kinds(format: TextFormatOption = None, output: OutputOption = None,
          width: WidthOption = None) -> None:
    """List every layer kind with its fields, defaults and meaning. Formats: table, json, csv,
    markdown, latex (-o FILE writes it to a file)."""
    from convcalc.catalog import kind_catalog
    from convcalc.render.catalog_view import kinds_view
    from convcalc.render.pictures import text_only

    target, format = output_target(output, format)
    text_only(format, "kinds")
    _emit(kinds_view(kind_catalog(), format), make_view(width, "auto", None), target)


def one_line(text: str) -> str:
    """Control characters (newlines, escape sequences) written as escapes: one message is one
    line, and nothing a user typed can move the cursor or colour the terminal."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]",
                  lambda m: repr(m.group())[1:-1], text)


def report_error(error: ConvcalcError) -> None:
    """One line per problem on stderr (at most MAX_ERRORS; the rest are counted)."""
    from convcalc.limits import MAX_ERRORS

    problems = error.problems or (error,)
    for problem in problems[:MAX_ERRORS]:
        sys.stderr.write(f"convcalc: error: {one_line(problem.render())}\n")
    if len(problems) > MAX_ERRORS:
        sys.stderr.write(f"convcalc: error: … and {len(problems) - MAX_ERRORS} more problems\n")


def main(argv: list[str] | None = None) -> None:
    """Console entry point. A usage error (an unknown option, a bad value) is one line on
    stderr like every other error, exit 2."""
    try:  # typer ≥ 0.26 carries its own click
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # pragma: no cover - older typer
        from click.exceptions import (  # type: ignore[no-redef,import-not-found]
            ClickException,
            NoArgsIsHelpError,
        )
    # One short run builds many acyclic objects (a row per layer) and frees them all at exit;
    # the cyclic collector would rescan the growing heap again and again for nothing
    # (about 2× on a 100,000-layer spec, and super-linear growth).
    gc.disable()
    try:
        code = app(args=argv, prog_name="convcalc", standalone_mode=False)
    except NoArgsIsHelpError as e:
        e.show()
        sys.exit(e.exit_code)
    except ClickException as e:
        ctx = getattr(e, "ctx", None)
        hint = f" (see {ctx.command_path} -h)" if ctx is not None else ""
        sys.stderr.write(f"convcalc: error: {one_line(e.format_message())}{hint}\n")
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.stderr.write("convcalc: aborted\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
