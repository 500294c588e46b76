"""The rules between options (convcalc/cli/rules.py) and the requests they judge
(convcalc/cli/requests.py): every row of RULES is broken by an invocation below, which exits
2 with that row's message (the wording the scattered checks had before the table: every
message here was printed by the old code), and every option of every command is a field of
its request, so an option without a field, a rule without a test or a rule naming an option
its command lacks fails here."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.cli.commands import prepare
from convcalc.cli.requests import REQUESTS, Request, fields_by_option, option_names
from convcalc.cli.rules import LAYER_FIELDS, RULES, Given, Missing, Rule, Task, first_broken

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]

EXAMPLES: list[tuple[str, str]] = [
    ("layer pointwise -i 8x8x4 --out 8 --kernel 3",
     'option --kernel: pointwise has no kernel; its options: --out, --stride, --groups, --no-bias'),
    ("layer mlp -i 196x64 --ratio 4 --heads 2 --window 7",
     'option --heads, --window: mlp has no heads or window; its options: --hidden, --ratio, '
     '--out, --activation, --no-bias'),
    ("layer self_attention -i 196x64 --heads 2 --ratio 4",
     'option --ratio: self_attention has no ratio; its options: --heads, --head-dim, --window, '
     '--shift, --partition, --position-bias, --bias-mlp, --cosine, --no-bias'),
    ("layer conv -i 8x8x4 --out 8 --kernel 3 --conventions --format html",
     '--conventions is not shown by --format html: use --format table, markdown, csv, latex or json'),
    ("layer conv -i 8x8x4 --out 8 --kernel 3 --convention thop --format mermaid",
     '--convention is not shown by --format mermaid: use --format table, markdown, csv, latex or json'),
    ("layer conv -i 8x8x4 --out 8 --kernel 3 --train --format html",
     '--format html is not used with `convcalc layer --train` (table, json, csv, markdown or latex)'),
    ("layer conv -i 8x8x4 --out 8 --kernel 3 --train --conventions",
     '--conventions does not apply with --train'),
    ("layer conv -i 8x8x4 --out 8 --kernel 3 --format dot",
     "--format dot draws a network's graph: use it with `convcalc net`; `convcalc layer` draws with "
     '--format html'),
    ("compare -i 8x8x4 --kernel 3",
     'compare needs --out (the standard conv to compare against)'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --columns params --format mermaid",
     '--columns is not shown by --format mermaid: use --format table, markdown, csv, latex or html'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --sweep kernel=3,5 --sweep groups=1,2",
     'option --sweep: one field at a time (got 2: kernel, groups); run one sweep per field'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --sweep kernel=3,5 --columns params",
     'option --columns: not used with --sweep (the matrix has one column per swept value)'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --sweep kernel=3,5 --format html",
     '--format html is not used with `convcalc compare --sweep` (table, json, csv, markdown or latex)'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --train --format html",
     '--format html is not used with `convcalc compare --train` (table, json, csv, markdown or latex)'),
    ("compare -i 8x8x4 --out 8 --kernel 3 --format mermaid",
     "--format mermaid draws a network's graph: use it with `convcalc net`; `convcalc compare` draws "
     'with --format html'),
    ("net resnet18 --format mermaid --dtype fp16",
     '--dtype is not shown by --format mermaid: use --format html, table or json'),
    ("net resnet18 --format dot --device l4",
     '--device is not shown by --format dot: use --format html, table or json'),
    ("net resnet18 --format dot --peak-tflops 10",
     '--peak-tflops is not shown by --format dot: use --format html, table or json'),
    ("net resnet18 --format dot --bandwidth 100",
     '--bandwidth is not shown by --format dot: use --format html, table or json'),
    ("net resnet18 --format html --conventions",
     '--conventions is not shown by --format html: use --format table, markdown, csv, latex or json'),
    ("net resnet18 --format html --convention thop",
     '--convention is not shown by --format html: use --format table, markdown, csv, latex or json'),
    ("net resnet18 --format mermaid --columns params",
     '--columns is not shown by --format mermaid: use --format table, markdown, csv, latex or html'),
    ("net resnet18 --freeze layer1 --checkpoint layer2",
     '--freeze, --checkpoint need --train'),
    ("net resnet18 --train --format mermaid",
     '--format mermaid is not used with `convcalc net --train` (table, json, csv, markdown, latex or html)'),
    ("net resnet18 --train --by kind",
     '--by does not apply with --train'),
    ("net resnet18 --by layer",
     "option --by: 'layer': group by kind (the only grouping)"),
    ("net resnet18 --by kind --format html",
     '--format html is not used with `convcalc net --by kind` (table, json, csv, markdown or latex)'),
    ("net resnet18 --by kind --depth 1 --top 3",
     '--depth, --top do not apply to --by kind (one row per layer kind; --dtype and --device add its '
     'bytes and bound)'),
    ("net resnet18 --top 3 --format html",
     '--top is not used with --format html: the graph shows every layer (fold blocks with --depth N)'),
    ("net resnet18 --explain --format mermaid",
     '--explain is not used with --format mermaid (formulas are text: use --format table, markdown or html)'),
    ("net resnet18 --columns params,time",
     'option --columns: time needs a device: --device NAME (convcalc net --help lists them) or '
     '--peak-tflops and --bandwidth'),
    ("diff resnet18 resnet34 --format html",
     '--format html is not used with `convcalc diff`: draw the two graphs with --format mermaid or '
     "dot, or open each network's report (convcalc net SPEC --format html)"),
    ("import",
     'import needs an ONNX file or --torch package.module:factory (one of them)'),
    ("import m.onnx --torch torchvision.models:resnet18",
     'import needs an ONNX file or --torch package.module:factory (one of them)'),
    ("import --torch torchvision.models:resnet18",
     '--torch needs --input SHAPE (H×W×C, e.g. 224x224x3)'),
    ("import --torch torchvision.models:resnet18 -i 224x224x3 --unfold-bn",
     "--unfold-bn applies to an ONNX file (a torch model's BatchNorms are never folded)"),
    ("solve conv -i 28x28x1 --output 28 --format mermaid",
     '--format mermaid is not used with `convcalc solve` (table, json, csv, markdown or latex)'),
    ("solve batch --train --device t4",
     'solve batch needs a network spec: convcalc solve batch SPEC --device a100-80gb --train'),
    ("solve batch mobilenet_v2 --device a100-80gb",
     'solve batch needs --train (the largest batch whose training step fits the device)'),
    ("solve batch mobilenet_v2 --train",
     'solve batch needs --device: one of h100-sxm, a100-80gb, l4, rtx-4090, jetson-orin-nano, '
     'h200-sxm, v100-sxm2, t4'),
    ("solve conv -i 28x28x1 --output 28 --device l4",
     'SPEC, --device, --train and --dtype belong to solve batch'),
    ("solve batch mobilenet_v2 --train --device t4 --max-macs 100 -o 7",
     '--output, --max-macs: not used with solve batch (the network is SPEC\'s; --input and '
     '--channels-first may change its input)'),
    ("solve maxpool -i 28x28x1 --output 14 --groups 2",
     'option --groups: maxpool has no groups; its options: --kernel, --stride, --padding, --dilation,'
     ' --ceil-mode'),
    ("solve conv --from 224 --to 7 -i 28x28x1",
     '--input: not used with a chain (--from/--to)'),
    ("solve conv --from 224",
     'a chain needs both --from and --to'),
    ("solve conv -i 28x28x1 --max-macs 1M --output 28",
     '--output: not used with a budget (--max-macs/--max-params)'),
    ("solve conv -i 28x28x1 --output 28 --divisor 8",
     '--divisor: not used with an output size (--output)'),
    ("solve conv -i 28x28x1",
     'solve needs --output SIZE (or --max-macs/--max-params for a budget, or --from/--to for a chain)'),
    ("solve conv --output 28",
     'solve needs --input SHAPE (H×W×C, e.g. 28x28x1)'),
    ("examples --format dot",
     '--format dot is not used with `convcalc examples` (table, json, csv, markdown or latex)'),
    ("kinds --format html",
     '--format html is not used with `convcalc kinds` (table, json, csv, markdown or latex)'),
]
"""(the arguments, the one line they give on stderr after `convcalc: error: `)."""


def model_of(name: str) -> type[Request]:
    model: type[Request] = COMMANDS[name].callback.request
    return model


def broken_by(args: list[str]) -> tuple[Rule, str] | None:
    """The rule `args` break, read as the command reads them (typer's parse, the request, the
    -o target and format) without running it."""
    command = COMMANDS[args[0]]
    context = command.make_context(args[0], args[1:])
    request, out = prepare(model_of(args[0]), dict(context.params))
    return first_broken(request, out.format)


@pytest.mark.parametrize(("args", "message"), EXAMPLES, ids=[a for a, _ in EXAMPLES])
def test_a_broken_rule_is_its_message_and_exit_2(args: str, message: str) -> None:
    result = CliRunner().invoke(app, args.split())
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"convcalc: error: {message}\n"


def test_every_rule_is_broken_by_an_example() -> None:
    fired: dict[int, str] = {}
    for args, message in EXAMPLES:
        broken = broken_by(args.split())
        assert broken is not None, args
        rule, said = broken
        assert said == message, args
        fired.setdefault(RULES.index(rule), args)
    untested = [RULES[i] for i in range(len(RULES)) if i not in fired]
    assert untested == [], "rules no example breaks: " + "; ".join(map(repr, untested))


def test_every_option_of_every_command_is_a_field_of_its_request() -> None:
    """typer's parameters (what `convcalc NAME --help` lists) are the request's fields, in
    order; every command has a request."""
    assert {m.COMMAND for m in REQUESTS} == set(COMMANDS)
    for name, command in COMMANDS.items():
        model = model_of(name)
        assert name == model.COMMAND
        assert [p.name for p in command.params] == list(model.model_fields), name


def test_every_option_a_rule_names_is_its_command_s() -> None:
    """A rule naming an option its command lacks (a typo, a renamed option) fails here, not
    as a KeyError on the run that breaks it."""
    requests = {m.COMMAND: m for m in REQUESTS}
    for rule in RULES:
        named: list[str] = [*getattr(rule, "options", ())]
        when = getattr(rule, "when", None)
        if isinstance(when, Given | Missing):
            named += when.options
        if hasattr(rule, "option"):
            named.append(rule.option)
        known = fields_by_option(requests[rule.command])
        assert [o for o in named if o not in known] == [], rule
        if isinstance(when, Task):
            assert all(isinstance(t, str) for t in when.tasks)


def test_options_are_named_as_typed() -> None:
    names = option_names(model_of("net"))
    assert names["set_"] == "--set" and names["peak_tflops"] == "--peak-tflops"
    assert names["spec"] == "SPEC" and names["output"] == "--output"
    solve = option_names(model_of("solve"))
    assert solve["start"] == "--from" and solve["end"] == "--to" and solve["save"] == "--save"


def test_a_request_is_frozen_and_takes_only_its_options() -> None:
    from pydantic import ValidationError

    model = model_of("layer")
    request = model(kind="conv", input="8x8x3")
    with pytest.raises(ValidationError):
        request.kind = "pointwise"  # type: ignore[misc]
    extra: dict[str, Any] = {"kind": "conv", "input": "8x8x3", "sweep": ["kernel=3,5"]}
    with pytest.raises(ValidationError):
        model(**extra)


def test_given_means_other_than_the_default() -> None:
    model = model_of("net")
    assert not model(spec="s", optimizer="adam").given("--optimizer")
    assert model(spec="s", optimizer="sgd").given("--optimizer")
    assert not model(spec="s", freeze=[]).given("--freeze")
    assert model(spec="s", depth=0).given("--depth")


def test_a_group_of_rules_is_one_line_naming_every_option() -> None:
    """Options refused by rules of one group are named together, in the table's order."""
    broken = broken_by(["net", "resnet18", "--format", "dot", "--conventions", "--bandwidth",
                        "100", "--dtype", "fp16"])
    assert broken is not None
    assert broken[1] == ("--dtype, --bandwidth, --conventions are not shown by --format dot: "
                         "use --format table, markdown, csv, latex or json")


LAYER_VALUES = {"--padding": "1", "--alpha-in": "0.5", "--alpha-out": "0.5", "--mode": "nearest",
                "--partition": "grid", "--ratio": "4", "--activation": "relu",
                "--norm": "after"}
"""A value each layer option takes (the others: a whole number; flags none)."""


@pytest.mark.parametrize("option", LAYER_FIELDS)
def test_every_layer_option_is_refused_by_a_kind_without_its_field(option: str) -> None:
    """Each of layer's field options (the attention kinds' too) is one a kind without that
    field refuses, in the KindFields wording (to_tokens has no field)."""
    flag = option in ("--no-bias", "--ceil-mode", "--position-bias", "--cosine")
    args = ["layer", "to_tokens", "-i", "8x8x4", option,
            *([] if flag else [LAYER_VALUES.get(option, "2")])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    field = option.removeprefix("--no-").removeprefix("--")
    assert result.stderr == (f"convcalc: error: option {option}: to_tokens has no {field}; "
                             f"its options: none beyond --input\n")
