"""The commands: parse → request → library call → render. Each is a body taking its checked
request (convcalc/cli/requests.py; RULES in convcalc/cli/rules.py already held) and where
its output goes; `command` gives typer the request's fields as the command's options."""

from __future__ import annotations

import gc
import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from convcalc.cli.emit import Output, emit, one_line, output_target, report_error, warn
from convcalc.cli.requests import (
    CompareRequest,
    DiffRequest,
    ExamplesRequest,
    ExportRequest,
    ImportRequest,
    KindsRequest,
    LayerRequest,
    NetRequest,
    Request,
    SchemaRequest,
    SolveRequest,
    field_options,
)
from convcalc.cli.rules import check
from convcalc.cli.values import (
    batch_of,
    cost_dtype,
    make_device,
    parse_axes,
    parse_sets,
    text_settings,
    warn_layout,
)
from convcalc.errors import ConvcalcError
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


R = TypeVar("R", bound=Request)
Body = Callable[[R, Output], None]


def command(model: type[R]) -> Callable[[Body[R]], Callable[..., None]]:
    """Register `body` as `convcalc model.COMMAND`, its options the request's fields. A run: the
    options validated into the request, the -o target checked and the format resolved, each
    value read on its own, RULES checked, then the body; a ConvcalcError becomes one line per
    problem on stderr and its exit code (1: does not fit, 2: malformed). Nothing half-printed
    reaches stdout: output is rendered only after the analysis succeeded."""
    def register(body: Body[R]) -> Callable[..., None]:
        def run(**options: Any) -> None:
            try:
                request, out = prepare(model, options)
                request.read_values()
                check(request, out.format)
                body(request, out)
            except ConvcalcError as error:
                from convcalc.errors import for_options

                report_error(for_options(error, field_options(model)))
                raise typer.Exit(error.exit_code) from None

        run.__name__ = run.__qualname__ = body.__name__
        run.__doc__ = body.__doc__
        run.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                              annotation=info.rebuild_annotation(),
                              default=inspect.Parameter.empty if info.is_required()
                              else info.default)
            for name, info in model.model_fields.items()])
        run.request = model  # type: ignore[attr-defined]
        app.command(model.COMMAND)(run)
        return run

    return register


def prepare(model: type[R], options: dict[str, Any]) -> tuple[R, Output]:
    """typer's parsed options as the command's request (validated once), and where its output
    goes: the -o target checked (before any work) and the format resolved."""
    request = model(**options)
    out = output_target(getattr(request, model.OUTPUT) if model.OUTPUT else None,
                        getattr(request, "format", None), request.inputs(),
                        option=model.OUTPUT_OPTION, formats="format" in model.model_fields)
    return request, out


def option_names(command: Callable[..., None] | type[Request]) -> dict[str, str]:
    """Spec field → the option a user types for it in `command` (out → --out, bias →
    --no-bias, output_padding → --output-padding): the one place that maps a field error to
    the option."""
    model: type[Request] = getattr(command, "request", command)  # type: ignore[arg-type]
    return field_options(model)


@command(LayerRequest)
def layer(r: LayerRequest, out: Output) -> None:
    """Analyse one layer: output shape, receptive field, parameters, MACs, memory. Formats:
    table, json, csv, markdown, latex, html (-o FILE writes it to a file)."""
    from convcalc.engine import analyze_layer, as_layer
    from convcalc.render.views import layer_view

    spec: dict[str, Any] = {"kind": r.kind, **r.fields}
    view = r.view
    warn_layout(r.input, r.channels_first)
    report = analyze_layer(spec, r.input, channels_first=r.channels_first, batch=r.batch)
    made = make_device(r.device, r.peak_tflops, r.bandwidth)
    model = as_layer(spec)
    cost = None
    if r.dtype is not None or made is not None:
        from convcalc.hardware.costing import layer_costing

        cost = layer_costing(model, report, r.dtype, made)
    batch = batch_of(r.input, r.channels_first, r.batch)
    if r.train:
        from convcalc.render.training_view import layer_training_output
        from convcalc.training import layer_training

        facts = layer_training(report, model, batch=r.batch or 1, dtype=r.dtype or "fp32")
        emit(layer_training_output(report, facts, out.format, explain=r.explain, costing=cost,
                                   settings=text_settings(view), batch=batch), view, out.target)
        return
    if r.conventions or r.convention is not None:
        from convcalc.conventions import layer_peers
        from convcalc.render.conventions_view import layer_output

        peers = layer_peers(model, report, every=r.conventions, tool=r.convention, batch=batch)
        emit(layer_output(report, peers, out.format, explain=r.explain, costing=cost), view,
             out.target)
        return
    emit(layer_view(report, out.format, explain=r.explain, costing=cost,
                    settings=text_settings(view), batch=batch, view=view), view, out.target)


@command(CompareRequest)
def compare(r: CompareRequest, out: Output) -> None:
    """Every convolution variant on one input, side by side, with ratios to a baseline.
    Formats: table, json, csv, markdown, latex, html (-o FILE writes it to a file)."""
    from convcalc import compare as C
    from convcalc.render.views import compare_view, sweep_view

    options, view = r.fields, r.view
    chosen = C.parse_variants(r.variants)
    if r.sweep:
        field, values = C.parse_sweep(r.sweep[0])
        result = C.sweep(r.input, options, field, values, chosen, r.baseline,
                         channels_first=r.channels_first, batch=r.batch)
        emit(sweep_view(result, out.format, batch_of(r.input, r.channels_first, r.batch)), view,
             out.target)
        return
    warn_layout(r.input, r.channels_first)
    comparison = C.compare(r.input, options, chosen, r.baseline,
                           channels_first=r.channels_first, batch=r.batch)
    made = make_device(r.device, r.peak_tflops, r.bandwidth)
    cost = None
    if r.dtype is not None or made is not None:
        from convcalc.hardware.costing import costing

        cost = costing([c.report for c in comparison.results if c.report is not None], r.dtype,
                       made)
    shown = compare_view(comparison, out.format, parts=r.parts, explain=r.explain,
                         costing=cost, settings=text_settings(view),
                         batch=batch_of(r.input, r.channels_first, r.batch), view=view)
    if r.train:
        from convcalc.engine import as_layer
        from convcalc.render.training_view import compare_training_output
        from convcalc.training import layer_training

        facts = {c.variant: layer_training(c.report, as_layer(c.spec), batch=r.batch or 1,
                                           dtype=r.dtype or "fp32")
                 for c in comparison.results if c.report is not None}
        shown = compare_training_output(comparison, facts, out.format, shown,
                                        text_settings(view))
    emit(shown, view, out.target)


@command(NetRequest)
def net(r: NetRequest, out: Output) -> None:
    """Analyse a network (a YAML spec, a bundled example, an ONNX model or - for stdin): per-layer
    shapes, params, MACs, receptive field. Formats: table, json, csv, markdown, latex, mermaid,
    dot, html (-o FILE writes it to a file)."""
    from convcalc.api import analyze_network
    from convcalc.render.views import net_view

    view = r.view
    if r.input is not None:
        warn_layout(r.input, r.channels_first)
    report = analyze_network(r.spec, r.input, params=parse_sets(r.set_ or []),
                             channels_first=r.channels_first or None, batch=r.batch,
                             strict=r.strict)
    made = make_device(r.device, r.peak_tflops, r.bandwidth)
    chosen = cost_dtype(view, r.dtype, made)
    cost = None
    if chosen is not None or made is not None:
        from convcalc.hardware.costing import network_costing

        cost = network_costing(report, chosen, made)
    if r.by is not None:
        from convcalc.diff import by_kind
        from convcalc.render.views import by_kind_view

        emit(by_kind_view(report, by_kind(report, cost), out.format, cost, text_settings(view)),
             view, out.target)
        return
    if r.train:
        from convcalc.render.training_view import net_training_output
        from convcalc.training import train

        training = train(report, freeze=r.freeze or (), checkpoint=r.checkpoint or (),
                         optimizer=r.optimizer, dtype=r.dtype or "fp32", device=made)
        counts = None
        if r.conventions:
            from convcalc.training.conventions import training_conventions

            counts = training_conventions(report, training)
        emit(net_training_output(report, training, out.format, depth=r.depth, top_k=r.top,
                                 explain=r.explain, costing=cost, conventions=counts,
                                 settings=text_settings(view)), view, out.target)
        return
    other_ops = view.columns is not None and "other_ops" in view.columns
    if r.conventions or r.convention is not None or other_ops:
        from convcalc.conventions import net_peers
        from convcalc.render.conventions_view import net_output

        peers = net_peers(report, every=r.conventions, tool=r.convention)
        emit(net_output(report, peers, out.format, depth=r.depth, top_k=r.top,
                        explain=r.explain, costing=cost, other_ops_column=other_ops), view,
             out.target)
        return
    shown = net_view(report, out.format, depth=r.depth, top_k=r.top, explain=r.explain,
                     costing=cost, settings=text_settings(view), view=view)
    if out.format is Format.mermaid and isinstance(shown, str):
        from convcalc.render.diagram import mermaid_warning

        warning = mermaid_warning(shown)
        if warning:
            sys.stderr.write(f"convcalc: warning: {warning}\n")
    emit(shown, view, out.target)


@command(DiffRequest)
def diff(r: DiffRequest, out: Output) -> None:
    """Two networks side by side: totals and per-level deltas (e.g. a spec at two widths).
    Formats: table, json, csv, markdown, latex, mermaid, dot (-o FILE writes it to a file)."""
    from convcalc.api import analyze_network
    from convcalc.diff import diff_networks
    from convcalc.render.formats import PICTURES
    from convcalc.render.views import diff_view

    view = r.view
    first = analyze_network(r.a, params=parse_sets(r.set_a or []))
    second = analyze_network(r.b, params=parse_sets(r.set_b or []))
    compared = diff_networks(first, second, r.depth)
    if out.format in PICTURES:
        from convcalc.render.pictures import diff_picture

        emit(diff_picture(compared, out.format), view, out.target)
        return
    emit(diff_view(compared, out.format, (r.a, r.b), text_settings(view)), view, out.target)


@command(ExportRequest)
def export(r: ExportRequest, out: Output) -> None:
    """Write the network as a runnable PyTorch module (build() and INPUT; imports only torch)."""
    from convcalc.api import analyze_network
    from convcalc.bridges.pytorch_export import export_pytorch

    report = analyze_network(r.spec, r.input, params=parse_sets(r.set_ or []),
                             channels_first=r.channels_first or None)
    code = export_pytorch(report, r.spec)
    emit(code, target=out.target, what=f"{report.name} as a PyTorch module "
                                       f"({len(report.rows):,} layers)")


@command(ImportRequest)
def import_(r: ImportRequest, out: Output) -> None:
    """Write the spec of an ONNX file or a PyTorch model (what `convcalc net` reads)."""
    from convcalc.shapes import parse_shape

    shape = None if r.input is None else parse_shape(r.input, channels_first=r.channels_first)
    if r.torch is not None:
        from convcalc.bridges.torch_import import import_torch

        assert shape is not None  # RULES: --torch needs --input
        result = import_torch(r.torch, shape, strict=r.strict)
    else:
        from convcalc.bridges.onnx_import import import_onnx

        assert r.file is not None  # RULES: a file or --torch
        result = import_onnx(r.file, shape, strict=r.strict, unfold_bn=r.unfold_bn)
    for note in result.notes:
        warn(note, "note")
    for warning in result.warnings:
        warn(warning)
    emit(result.yaml, target=out.target, what=one_line(str(result.spec["name"])))


@command(SolveRequest)
def solve(r: SolveRequest, out: Output) -> None:
    """Ask backwards: the padding, stride, kernel... that give an output size (the fields left
    out are searched); the largest out within a MACs or params budget; the chains of layers
    from one size to another; `solve batch SPEC --device D --train`: the largest batch whose
    training step fits the device. No answer is not an error: it prints none and the nearest.
    Formats: table, json, csv, markdown, latex (--save FILE writes it to a file)."""
    view = r.view
    if r.task == "batch":
        from convcalc.render.training_view import solve_batch_view
        from convcalc.training.solve import solve_batch

        assert r.spec is not None and r.device is not None  # RULES: batch needs them
        fit, made, name = solve_batch(r.spec, device=r.device, dtype=r.dtype,
                                      optimizer=r.optimizer, freeze=r.freeze or (),
                                      checkpoint=r.checkpoint or (), input=r.input,
                                      channels_first=r.channels_first)
        emit(solve_batch_view(fit, made, name, out.format), view, out.target)
        return
    from convcalc import solve as S
    from convcalc.render.solve_view import solve_view

    fixed = r.fields
    limit = S.DEFAULT_LIMIT if r.limit is None else r.limit
    if r.task == "chain":
        assert r.start is not None and r.end is not None  # RULES: a chain needs both
        steps = parse_axes("--strides", r.strides) if r.strides is not None else 2
        result = S.chain(r.kind, r.start, r.end, fixed,
                         strides=[steps] if isinstance(steps, int) else [*steps],
                         max_layers=8 if r.max_layers is None else r.max_layers, limit=limit)
    elif r.task == "budget":
        assert r.input is not None  # RULES: solve needs --input
        result = S.budget(r.kind, r.input, fixed, max_macs=r.max_macs,
                          max_params=r.max_params,
                          divisor=1 if r.divisor is None else r.divisor,
                          channels_first=r.channels_first)
    else:
        assert r.input is not None and r.output is not None  # RULES: solve needs both
        chosen = {"kernel": r.max_kernel, "stride": r.max_stride, "dilation": r.max_dilation}
        bounds = S.Bounds(**{k: v for k, v in chosen.items() if v is not None})
        result = S.solve(r.kind, r.input, r.output, fixed, bounds=bounds, limit=limit,
                         channels_first=r.channels_first)
    emit(solve_view(result, out.format), view, out.target)


@command(SchemaRequest)
def schema(r: SchemaRequest, out: Output) -> None:
    """Print the JSON Schema of the network spec format (for editor completion); -o FILE writes
    it to a file (JSON, whatever the suffix)."""
    from convcalc.render.text import to_json
    from convcalc.schema import network_schema

    emit(to_json(network_schema()) + "\n", target=out.target)


@command(ExamplesRequest)
def examples(r: ExamplesRequest, out: Output) -> None:
    """List the example networks installed with convcalc (use them by name: convcalc net
    resnet50). Formats: table, json, csv, markdown, latex (-o FILE writes it to a file)."""
    from convcalc.catalog import example_catalog
    from convcalc.render.views import examples_view

    emit(examples_view(example_catalog(), out.format), r.view, out.target)


@command(KindsRequest)
def kinds(r: KindsRequest, out: Output) -> None:
    """List every layer kind with its fields, defaults and meaning. Formats: table, json, csv,
    markdown, latex (-o FILE writes it to a file)."""
    from convcalc.catalog import kind_catalog
    from convcalc.render.catalog_view import kinds_view

    emit(kinds_view(kind_catalog(), out.format), r.view, out.target)


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
