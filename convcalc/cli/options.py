"""The options several commands share, declared once (typer's `Annotated` form): a request
model (convcalc/cli/requests.py) names them as the types of its fields."""

from __future__ import annotations

from typing import Annotated

import typer

from convcalc.render.formats import Format


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
ChannelsFirstOption = Annotated[bool, typer.Option("--channels-first", help="Read --input as "
                                                   "C×H×W.")]
NoBiasOption = Annotated[bool, typer.Option("--no-bias", help="Layers without bias.")]
CeilModeOption = Annotated[bool, typer.Option("--ceil-mode", help="Pooling: round up.")]
PaddingOption = Annotated[str | None, typer.Option(help="3, 3,5, same or valid.")]
GroupsOption = Annotated[int | None, typer.Option(help="Groups (divides C_in and C_out).")]
SetOption = Annotated[list[str] | None, typer.Option(
    "--set", help="Set a spec parameter: --set width=0.75 (repeatable).")]
SpecInputOption = Annotated[str | None, typer.Option("--input", "-i", help="Override the spec's "
                                                                          "input shape.")]
WriteOption = Annotated[str | None, typer.Option(
    "--output", "-o", "--save", metavar="FILE",
    help="File to write (default, or -: standard output); never one of the inputs.")]
