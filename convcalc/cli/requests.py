"""Each command's options as data: one frozen request model per command, its fields the
options in the order `--help` lists them (a field is the option: its type, typer declaration
and default). Adding an option is one field here plus, when it combines with others, its rule
in convcalc/cli/rules.py; tests/test_cli_rules.py fails on an option without a field and on a
rule no test invokes.

A command (convcalc/cli/commands.py) is called with typer's parsed options; they are
validated into its request once, the -o target checked and the format resolved, each value
read on its own (`read_values`), and RULES checked, all before any work. For example, a
`--strict` flag for `net` is the line
    strict: Annotated[bool, typer.Option("--strict", help="...")] = False
in NetRequest (where --help should list it), read as `r.strict` by the command."""

from __future__ import annotations

import functools
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar

import typer
from pydantic import BaseModel, ConfigDict

from convcalc.cli.options import (
    Axes,
    BandwidthOption,
    BatchOption,
    CeilModeOption,
    ChannelsFirstOption,
    CheckpointOption,
    ColumnsOption,
    ConventionOption,
    ConventionsOption,
    DeviceOption,
    DiffFormatOption,
    DtypeOption,
    ExplainOption,
    FormatOption,
    FreezeOption,
    GroupsOption,
    NetFormatOption,
    NoBiasOption,
    OptimizerOption,
    OutputOption,
    PaddingOption,
    PeakOption,
    SetOption,
    SpecInputOption,
    TextFormatOption,
    TrainOption,
    UnitsOption,
    WidthOption,
    WriteOption,
)
from convcalc.cli.values import View, layer_fields, make_view


class Request(BaseModel):
    """The options of one command as typer parsed them (frozen: a request is what was asked)."""

    model_config = ConfigDict(frozen=True, defer_build=True, extra="forbid")

    COMMAND: ClassVar[str]
    """The command's name (`convcalc NAME`)."""
    OUTPUT: ClassVar[str | None] = "output"
    """The field naming the file the result is written to (None: standard output only)."""
    OUTPUT_OPTION: ClassVar[str] = "-o/--output"
    """How errors about that file name the option."""

    def inputs(self) -> tuple[str | None, ...]:
        """The files the command reads: -o may not name one of them."""
        return ()

    def read_values(self) -> None:
        """Read each option's value on its own (per-axis numbers, --units, --columns), a
        malformed one a SpecError, before RULES judge how the options combine; what is read
        is kept (the cached properties `fields`, `view`)."""

    @property
    def task(self) -> str:
        """Which of the command's questions the options ask ("" for a command with one)."""
        return ""

    def given(self, option: str) -> bool:
        """The option (as typed: --peak-tflops, or SPEC for an argument) was given: a value
        other than its default, None, false or no items."""
        field = fields_by_option(type(self))[option]
        value = getattr(self, field)
        return (value is not None and value is not False and value != []
                and value != type(self).model_fields[field].default)

    def value(self, option: str) -> Any:
        return getattr(self, fields_by_option(type(self))[option])


@functools.cache
def option_names(model: type[Request]) -> dict[str, str]:
    """Field → the option a user types for it (out → --out, no_bias → --no-bias, set_ → --set,
    output_padding → --output-padding; an argument: its name in capitals, SPEC), read from
    the fields' typer declarations."""
    from typer.models import ArgumentInfo, OptionInfo

    names: dict[str, str] = {}
    for field, info in model.model_fields.items():
        declared = next((m for m in info.metadata if isinstance(m, OptionInfo | ArgumentInfo)),
                        None)
        if isinstance(declared, ArgumentInfo):
            names[field] = field.upper()
            continue
        decls = [d for d in (getattr(declared, "param_decls", None) or ())
                 if d.startswith("--")]
        default = getattr(declared, "default", ...)  # Annotated: the first name sits here
        if isinstance(default, str) and default.startswith("--"):
            decls.insert(0, default)
        names[field] = decls[0] if decls else "--" + field.rstrip("_").replace("_", "-")
    return names


FIELD_OPTIONS = {"bias": "no_bias"}
"""Layer fields whose option has another name than the field (bias: false is --no-bias)."""


@functools.cache
def field_options(model: type[Request]) -> dict[str, str]:
    """A layer's or spec's field → the option that gives it (bias → --no-bias): how errors
    about a field name the option."""
    names = {f: o for f, o in option_names(model).items() if o.startswith("-")}  # no argument
    for field, param in FIELD_OPTIONS.items():
        if param in names:
            names[field] = names.pop(param)
    return names


@functools.cache
def fields_by_option(model: type[Request]) -> dict[str, str]:
    return {option: field for field, option in option_names(model).items()}


class LayerRequest(Request):
    COMMAND = "layer"

    kind: Annotated[str, typer.Argument(help="Layer kind: conv, pointwise, grouped, depthwise, "
                                             "dilated, dwsep, spatial_sep, transposed, "
                                             "pointwise_group, shuffle, shuffle_unit, octave, "
                                             "maxpool, avgpool, ... (see `convcalc kinds`).")]
    input: Annotated[str, typer.Option("--input", "-i", help="Input shape, H×W×C: 12x12x3; "
                                                             "L×C or D×H×W×C too.")]
    out: Annotated[int | None, typer.Option(help="Output channels.")] = None
    kernel: Axes = None
    stride: Axes = None
    padding: PaddingOption = None
    dilation: Axes = None
    groups: GroupsOption = None
    no_bias: NoBiasOption = False
    output_padding: Axes = None
    alpha_in: Annotated[str | None, typer.Option(help="Octave: low-frequency input share.")] = None
    alpha_out: Annotated[str | None, typer.Option(help="Octave: low-frequency output share.")] \
        = None
    multiplier: Annotated[int | None, typer.Option(help="Depthwise channel multiplier.")] = None
    mid: Annotated[int | None, typer.Option(help="Middle channels (spatial_sep, "
                                                 "shuffle_unit).")] = None
    ceil_mode: CeilModeOption = False
    scale: Axes = None
    mode: Annotated[str | None, typer.Option(help="Upsample mode: nearest or bilinear.")] = None
    output_size: Axes = None
    heads: Annotated[int | None, typer.Option(help="Attention heads (or --head-dim).")] = None
    head_dim: Annotated[int | None, typer.Option(help="Attention: channels per head, C / "
                                                      "heads.")] = None
    window: Annotated[str | None, typer.Option(help="Attention within windows, per axis: 7 "
                                                    "or 7,7.")] = None
    shift: Annotated[str | None, typer.Option(help="Attention: Swin's window shift, per "
                                                   "axis: 3.")] = None
    partition: Annotated[str | None, typer.Option(help="Attention: window (default) or grid "
                                                       "(MaxViT).")] = None
    position_bias: Annotated[bool, typer.Option("--position-bias", help="Attention: a learnt "
                                                "relative-position bias table.")] = False
    bias_mlp: Annotated[int | None, typer.Option(help="Attention: Swin V2's bias MLP width "
                                                      "(512).")] = None
    cosine: Annotated[bool, typer.Option("--cosine", help="Attention: Swin V2's scaled cosine "
                                                          "attention.")] = False
    hidden: Annotated[int | None, typer.Option(help="MLP hidden channels (or --ratio).")] = None
    ratio: Annotated[str | None, typer.Option(help="MLP hidden channels as a share of the "
                                                   "input's: 4.")] = None
    activation: Annotated[str | None, typer.Option(
        help="MLP: gelu, relu, silu, hardswish or tanh.")] = None
    norm: Annotated[str | None, typer.Option(help="patch_merging: norm before (default) or "
                                                  "after.")] = None
    count: Annotated[int | None, typer.Option(help="Class tokens to prepend (default 1).")] \
        = None
    index: Annotated[int | None, typer.Option(help="take_token: the token taken (default "
                                                   "0).")] = None
    size: Annotated[str | None, typer.Option(help="to_map: the map's size, per axis: "
                                                  "14x14.")] = None
    name: Annotated[str | None, typer.Option(help="A name for the layer.")] = None
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W: 8x7x7 = 8 channels of 7×7.")] = False
    format: FormatOption = None
    output: OutputOption = None
    explain: ExplainOption = False
    width: WidthOption = None
    units: UnitsOption = "auto"
    batch: BatchOption = None
    dtype: DtypeOption = None
    device: DeviceOption = None
    peak_tflops: PeakOption = None
    bandwidth: BandwidthOption = None
    conventions: ConventionsOption = False
    convention: ConventionOption = None
    train: TrainOption = False

    def read_values(self) -> None:
        self.fields, self.view  # noqa: B018

    @cached_property
    def fields(self) -> dict[str, Any]:
        """The layer's spec fields the options give (axes parsed)."""
        return layer_fields(
            {"kernel": self.kernel, "stride": self.stride, "dilation": self.dilation,
             "output_padding": self.output_padding, "scale": self.scale,
             "output_size": self.output_size, "padding": self.padding, "out": self.out,
             "groups": self.groups, "alpha_in": self.alpha_in, "alpha_out": self.alpha_out,
             "multiplier": self.multiplier, "mid": self.mid, "mode": self.mode,
             "heads": self.heads, "head_dim": self.head_dim, "window": self.window,
             "shift": self.shift, "partition": self.partition,
             "position_bias": self.position_bias, "bias_mlp": self.bias_mlp,
             "cosine": self.cosine, "hidden": self.hidden, "ratio": self.ratio,
             "activation": self.activation, "norm": self.norm, "count": self.count,
             "index": self.index, "size": self.size,
             "name": self.name, "no_bias": self.no_bias, "ceil_mode": self.ceil_mode},
            {"padding": ("same", "valid")})

    @cached_property
    def view(self) -> View:
        return make_view(self.width, self.units, None)


class CompareRequest(Request):
    COMMAND = "compare"

    input: Annotated[str, typer.Option("--input", "-i", help="Input shape, H×W×C: 12x12x3.")]
    kernel: Axes = None
    out: Annotated[int | None, typer.Option(help="Output channels.")] = None
    stride: Axes = None
    padding: PaddingOption = None
    dilation: Axes = None
    no_bias: NoBiasOption = False
    variants: Annotated[str | None, typer.Option(
        help="Comma-separated, with overrides: conv,grouped:groups=4,octave:alpha=0.5. "
             "Default: every variant.")] = None
    baseline: Annotated[str, typer.Option(help="Variant the ratios refer to.")] = "conv"
    sweep: Annotated[list[str] | None, typer.Option(
        help="Vary one field: kernel=3,5,7 | groups=1,2,4,8 | alpha=0,0.25,0.5.")] = None
    parts: Annotated[bool, typer.Option("--parts", help="Expand composites into parts.")] = False
    channels_first: ChannelsFirstOption = False
    format: FormatOption = None
    output: OutputOption = None
    explain: ExplainOption = False
    width: WidthOption = None
    units: UnitsOption = "auto"
    columns: ColumnsOption = None
    batch: BatchOption = None
    dtype: DtypeOption = None
    device: DeviceOption = None
    peak_tflops: PeakOption = None
    bandwidth: BandwidthOption = None
    train: TrainOption = False

    def read_values(self) -> None:
        self.fields, self.view  # noqa: B018

    @cached_property
    def fields(self) -> dict[str, Any]:
        """The standard conv's fields the variants are built from (axes parsed)."""
        return layer_fields({"kernel": self.kernel, "stride": self.stride,
                             "dilation": self.dilation, "padding": self.padding, "out": self.out,
                             "no_bias": self.no_bias}, {"padding": ("same", "valid")})

    @cached_property
    def view(self) -> View:
        return make_view(self.width, self.units, self.columns)


class NetRequest(Request):
    COMMAND = "net"

    spec: Annotated[str, typer.Argument(help="Network spec: a YAML file (.yaml, see README), a "
                                             "bundled example by name (convcalc examples), an "
                                             "ONNX model (.onnx), or - for standard input.")]
    input: SpecInputOption = None
    depth: Annotated[int | None, typer.Option(min=0, help="Collapse blocks deeper than N into "
                                                          "subtotal rows.")] = None
    top: Annotated[int | None, typer.Option(min=1, help="List the K most expensive layers.")] \
        = None
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Set a spec parameter: --set width=0.75 (repeatable); --set "
                      "input=160x160x3 sets the input.")] = None
    channels_first: Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                 "C×H×W: 3x224x224.")] = False
    format: NetFormatOption = None
    output: OutputOption = None
    explain: ExplainOption = False
    width: WidthOption = None
    units: UnitsOption = "auto"
    columns: ColumnsOption = None
    batch: BatchOption = None
    by: Annotated[str | None, typer.Option("--by", help="Group the cost: --by kind (how much "
                                                        "is pointwise, depthwise, …).")] = None
    dtype: DtypeOption = None
    device: DeviceOption = None
    peak_tflops: PeakOption = None
    bandwidth: BandwidthOption = None
    conventions: ConventionsOption = False
    convention: ConventionOption = None
    train: TrainOption = False
    freeze: FreezeOption = None
    checkpoint: CheckpointOption = None
    optimizer: OptimizerOption = "adam"
    strict: Annotated[bool, typer.Option("--strict", help="Refuse operators convcalc cannot "
                                                          "count (an ONNX model's, a PyTorch "
                                                          "factory's, a spec's uncounted "
                                                          "layers; exit 1).")] = False

    def inputs(self) -> tuple[str | None, ...]:
        return (self.spec,)

    def read_values(self) -> None:
        self.view  # noqa: B018

    @cached_property
    def view(self) -> View:
        return make_view(self.width, self.units, self.columns)


class DiffRequest(Request):
    COMMAND = "diff"

    a: Annotated[str, typer.Argument(help="The first network: a YAML file (.yaml), a bundled "
                                          "example by name, an ONNX model (.onnx) or - for "
                                          "standard input.")]
    b: Annotated[str, typer.Argument(help="The second network (the same kinds of input).")]
    depth: Annotated[int, typer.Option(min=0, help="Compare levels this deep.")] = 1
    set_a: Annotated[list[str] | None, typer.Option("--set-a", help="A parameter of the first: "
                                                    "--set-a width=1.0.")] = None
    set_b: Annotated[list[str] | None, typer.Option("--set-b", help="A parameter of the "
                                                    "second: --set-b width=0.75.")] = None
    format: DiffFormatOption = None
    output: OutputOption = None
    width: WidthOption = None
    units: UnitsOption = "auto"

    def inputs(self) -> tuple[str | None, ...]:
        return (self.a, self.b)

    def read_values(self) -> None:
        self.view  # noqa: B018

    @cached_property
    def view(self) -> View:
        return make_view(self.width, self.units, None)


class ExportTarget(StrEnum):
    pytorch = "pytorch"


class ExportRequest(Request):
    COMMAND = "export"

    spec: Annotated[str, typer.Argument(help="Network spec: a YAML file (.yaml), a bundled "
                                             "example by name, an ONNX model (.onnx) or - for "
                                             "standard input.")]
    to: Annotated[ExportTarget, typer.Option("--to", help="What to write.")] = ExportTarget.pytorch
    output: WriteOption = None
    input: SpecInputOption = None
    set_: SetOption = None
    channels_first: ChannelsFirstOption = False

    def inputs(self) -> tuple[str | None, ...]:
        return (self.spec,)


class ImportRequest(Request):
    COMMAND = "import"

    file: Annotated[str | None, typer.Argument(help="An ONNX file (.onnx).")] = None
    torch: Annotated[str | None, typer.Option(
        "--torch", help="A PyTorch model instead: package.module:factory, a callable that "
                        "returns an nn.Module (torchvision.models:resnet50).")] = None
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input shape, H×W×C: "
                                              "224x224x3 (needed with --torch, and for an ONNX "
                                              "file with dynamic dims).")] = None
    output: Annotated[str | None, typer.Option("--output", "-o", "--save", metavar="FILE",
                                               help="File to write (default, or -: standard "
                                                    "output); never the model itself.")] = None
    strict: Annotated[bool, typer.Option("--strict", help="Refuse operators convcalc cannot "
                                                          "count (exit 1).")] = False
    channels_first: ChannelsFirstOption = False
    unfold_bn: Annotated[bool, typer.Option("--unfold-bn", help="An ONNX file whose BatchNorms "
                                            "were folded into the convs at export: write each "
                                            "folded conv as conv (no bias) + BatchNorm, the "
                                            "source model.")] = False

    def inputs(self) -> tuple[str | None, ...]:
        return (self.file, *_module_file(self.torch, self.output))


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


class SolveRequest(Request):
    COMMAND = "solve"
    OUTPUT = "save"
    OUTPUT_OPTION = "--save"

    kind: Annotated[str, typer.Argument(help="conv, dilated, depthwise, grouped, transposed, "
                                             "maxpool or avgpool; or batch (with SPEC, --device "
                                             "and --train: the largest batch that fits).")]
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input shape, H×W×C: "
                                                                    "28x28x1.")] = None
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output size wanted: 28, "
                                                                      "28x28, same or valid "
                                                                      "(TensorFlow's).")] = None
    start: Annotated[str | None, typer.Option("--from", help="Chain: from this size (224).")] \
        = None
    end: Annotated[str | None, typer.Option("--to", help="Chain: to this size (7).")] = None
    strides: Annotated[str | None, typer.Option(help="Chain: strides a layer may use, 2 or "
                                                     "2,4 (default 2).")] = None
    max_layers: Annotated[int | None, typer.Option(help="Chain: at most N layers (default "
                                                        "8).")] = None
    kernel: Axes = None
    stride: Axes = None
    padding: Axes = None
    dilation: Annotated[str | None, typer.Option(help="One value, or one per axis: 2 or 1,2; "
                                                      "any searches it (default 1).")] = None
    output_padding: Axes = None
    groups: GroupsOption = None
    out: Annotated[int | None, typer.Option(help="Output channels (default: the input's).")] \
        = None
    no_bias: NoBiasOption = False
    ceil_mode: CeilModeOption = False
    max_macs: Annotated[str | None, typer.Option(help="Budget: the largest out within these "
                                                      "MACs: 300M, 1.5G, 25k.")] = None
    max_params: Annotated[str | None, typer.Option(help="Budget: ... within these params.")] \
        = None
    divisor: Annotated[int | None, typer.Option(help="Budget: out a multiple of N.")] = None
    max_kernel: Annotated[int | None, typer.Option(help="Search kernels up to N (11).")] = None
    max_stride: Annotated[int | None, typer.Option(help="Search strides up to N (8).")] = None
    max_dilation: Annotated[int | None, typer.Option(help="Search dilations up to N (4).")] \
        = None
    limit: Annotated[int | None, typer.Option(help="List at most N answers (20).")] = None
    channels_first: ChannelsFirstOption = False
    format: TextFormatOption = None
    save: Annotated[str | None, typer.Option(
        "--save", metavar="FILE",
        help="Write the answers to FILE (here -o/--output is the size wanted); - is standard "
             "output; with no --format its suffix picks the format: .txt .json .csv .md "
             ".tex.")] = None
    width: WidthOption = None
    spec: Annotated[str | None, typer.Argument(help="solve batch: the network spec.")] = None
    device: DeviceOption = None
    train: TrainOption = False
    dtype: DtypeOption = None
    optimizer: OptimizerOption = "adam"
    freeze: FreezeOption = None
    checkpoint: CheckpointOption = None

    def inputs(self) -> tuple[str | None, ...]:
        return (self.spec,) if self.kind == "batch" else ()

    def read_values(self) -> None:
        if self.task != "batch":
            self.fields  # noqa: B018

    @cached_property
    def fields(self) -> dict[str, Any]:
        """The fields given, not searched (axes parsed; --dilation any is searched)."""
        return layer_fields({"kernel": self.kernel, "stride": self.stride,
                             "padding": self.padding, "dilation": self.dilation,
                             "output_padding": self.output_padding, "groups": self.groups,
                             "out": self.out, "no_bias": self.no_bias,
                             "ceil_mode": self.ceil_mode}, {"dilation": ("any",)})

    @cached_property
    def view(self) -> View:
        return make_view(self.width, "auto", None)

    @property
    def task(self) -> str:
        """batch, chain (--from/--to), budget (--max-macs/--max-params) or output (the size)."""
        if self.kind == "batch":
            return "batch"
        if self.start is not None or self.end is not None:
            return "chain"
        if self.max_macs is not None or self.max_params is not None:
            return "budget"
        return "output"


class SchemaRequest(Request):
    COMMAND = "schema"

    output: OutputOption = None


class ExamplesRequest(Request):
    COMMAND = "examples"

    format: TextFormatOption = None
    output: OutputOption = None
    width: WidthOption = None

    @cached_property
    def view(self) -> View:
        return make_view(self.width, "auto", None)


class KindsRequest(Request):
    COMMAND = "kinds"

    format: TextFormatOption = None
    output: OutputOption = None
    width: WidthOption = None

    @cached_property
    def view(self) -> View:
        return make_view(self.width, "auto", None)


REQUESTS: tuple[type[Request], ...] = (LayerRequest, CompareRequest, NetRequest, DiffRequest,
                                       ExportRequest, ImportRequest, SolveRequest, SchemaRequest,
                                       ExamplesRequest, KindsRequest)
"""Every command's request, in the order `convcalc --help` lists the commands."""
