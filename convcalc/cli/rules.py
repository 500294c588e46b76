"""The rules between a command's options, as data: RULES, one table, checked once per run
(after the -o target is checked and the format resolved, before any work). Each rule names
its command, the options it is about, when it applies and its message; rules of one group
(same kind, command, condition and message) that break together give one line naming every
option, in the table's order. The first broken rule is the error (exit 2).

A new option is a field of its command's request (convcalc/cli/requests.py) plus, when it
combines with other options, a row here; tests/test_cli_rules.py invokes every row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcalc.errors import SpecError
from convcalc.render.formats import PICTURES, Format

if TYPE_CHECKING:
    from convcalc.cli.requests import Request

GRAPHS = frozenset({Format.mermaid, Format.dot})
"""The formats that draw a network's graph."""
EVERY_FORMAT = frozenset(Format)


# when a rule applies

@dataclass(frozen=True)
class Given:
    """Any of these options is given (none listed: always)."""

    options: tuple[str, ...] = ()

    def holds(self, request: Request, fmt: Format) -> bool:
        return not self.options or any(request.given(o) for o in self.options)


@dataclass(frozen=True)
class Missing:
    """None of these options is given."""

    options: tuple[str, ...]

    def holds(self, request: Request, fmt: Format) -> bool:
        return not any(request.given(o) for o in self.options)


@dataclass(frozen=True)
class Task:
    """The options ask one of these questions (`Request.task`: solve's batch, chain, ...)."""

    tasks: tuple[str, ...]

    def holds(self, request: Request, fmt: Format) -> bool:
        return request.task in self.tasks


@dataclass(frozen=True)
class Formats:
    """The format written is one of these."""

    formats: frozenset[Format]

    def holds(self, request: Request, fmt: Format) -> bool:
        return fmt in self.formats


Condition = Given | Missing | Task | Formats
ALWAYS = Given()


def _plural(options: Sequence[str], fmt: Format, **more: object) -> dict[str, object]:
    """The words a message template may use: {options} (comma-separated), {missing} (joined
    by `and`), {format}, and the verbs agreeing with how many: {does} {is} {needs}."""
    one = len(options) == 1
    return {"options": ", ".join(options), "missing": " and ".join(options),
            "format": fmt.value, "does": "does" if one else "do", "is": "is" if one else "are",
            "needs": "needs" if one else "need", **more}


# the kinds of rule

@dataclass(frozen=True)
class Refuse:
    """These options are refused while `when` holds."""

    command: str
    options: tuple[str, ...]
    when: Condition
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        if not self.when.holds(request, fmt):
            return []
        return [o for o in self.options if request.given(o)]

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        return self.message.format(**_plural(options, fmt))


@dataclass(frozen=True)
class Needs:
    """These options are needed while `when` holds."""

    command: str
    options: tuple[str, ...]
    when: Condition
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        if not self.when.holds(request, fmt):
            return []
        return [o for o in self.options if not request.given(o)]

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        more = {"memory_presets": _memory_presets()} if "{memory_presets}" in self.message else {}
        return self.message.format(**_plural(options, fmt, **more))


@dataclass(frozen=True)
class OneOf:
    """Exactly one of these options."""

    command: str
    options: tuple[str, ...]
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        given = [o for o in self.options if request.given(o)]
        return [] if len(given) == 1 else list(self.options)

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        return self.message


@dataclass(frozen=True)
class NoFormat:
    """The command does not write these formats while `when` holds."""

    command: str
    formats: frozenset[Format]
    when: Condition
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        return ["--format"] if fmt in self.formats and self.when.holds(request, fmt) else []

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        return self.message.format(format=fmt.value)


@dataclass(frozen=True)
class NotShown:
    """A drawing format does not show this option (Mermaid and DOT draw the graph: no bytes, no
    time, no peer counts; the HTML report shows bytes, time and --columns, but not the peer
    tools' counts). All of a command's refused at once: one line."""

    command: str
    option: str
    formats: frozenset[Format]

    def broken(self, request: Request, fmt: Format) -> list[str]:
        return [self.option] if fmt in self.formats and request.given(self.option) else []

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        textual = fmt is Format.html or any(o in ("--conventions", "--convention", "--columns")
                                            for o in options)
        shows = "table, markdown, csv, latex or json" if textual else "html, table or json"
        if options == ["--columns"]:  # the HTML report takes it; JSON keeps every field
            shows = "table, markdown, csv, latex or html"
        return (f"{', '.join(options)} {'is' if len(options) == 1 else 'are'} not shown by "
                f"--format {fmt.value}: use --format {shows}")


@dataclass(frozen=True)
class OneAtATime:
    """A repeatable option given more than once."""

    command: str
    option: str
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        return [self.option] if len(request.value(self.option) or ()) > 1 else []

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        items = request.value(self.option)
        return self.message.format(count=len(items),
                                   names=", ".join(s.partition("=")[0] for s in items))


@dataclass(frozen=True)
class Choice:
    """The option's value is one of `choices`."""

    command: str
    option: str
    choices: tuple[str, ...]
    message: str

    def broken(self, request: Request, fmt: Format) -> list[str]:
        value = request.value(self.option)
        return [self.option] if value is not None and value not in self.choices else []

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        return self.message.format(value=request.value(self.option))


@dataclass(frozen=True)
class ColumnNeeds:
    """A column of --columns that needs one of `options` (a roofline column: a device)."""

    command: str
    columns: tuple[str, ...]
    options: tuple[str, ...]
    message: str

    def _asked(self, request: Request) -> list[str]:
        from convcalc.cli.values import parse_columns

        return [c for c in parse_columns(request.value("--columns")) or ()
                if c in self.columns]

    def broken(self, request: Request, fmt: Format) -> list[str]:
        if any(request.given(o) for o in self.options):
            return []
        return ["--columns"] if self._asked(request) else []

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        return self.message.format(column=self._asked(request)[0])


@dataclass(frozen=True)
class KindFields:
    """Options for layer fields the kind (the command's KIND) does not have: one line naming
    them and listing the ones it takes (`layer pointwise --kernel 3`: pointwise is 1×1)."""

    command: str
    options: tuple[str, ...]
    when: Condition = ALWAYS

    def _fields(self, request: Request) -> tuple[dict[str, str], set[str] | None]:
        from convcalc.cli.requests import field_options
        from convcalc.layers import KINDS, canonical_kind

        model = KINDS.get(canonical_kind(request.value("KIND")))
        names = field_options(type(request))
        return names, None if model is None else set(model.model_fields)

    def broken(self, request: Request, fmt: Format) -> list[str]:
        names, fields = self._fields(request)
        if fields is None or not self.when.holds(request, fmt):
            return []  # the analysis names an unknown kind
        by_option = {o: f for f, o in names.items()}
        return [o for o in self.options if request.given(o) and by_option[o] not in fields]

    def render(self, options: list[str], request: Request, fmt: Format) -> str:
        from convcalc.cli.requests import field_options
        from convcalc.layers import KINDS, canonical_kind

        kind = request.value("KIND")
        names = field_options(type(request))
        takes = [names[f] for f in KINDS[canonical_kind(kind)].model_fields
                 if f in names and f != "name"]
        return (f"option {', '.join(options)}: {kind} has no "
                f"{' or '.join(e.removeprefix('--no-').removeprefix('--') for e in options)}"
                f"; its options: {', '.join(takes) or 'none beyond --input'}")


Rule = Refuse | Needs | OneOf | NoFormat | NotShown | OneAtATime | Choice | ColumnNeeds | KindFields


def _memory_presets() -> str:
    from convcalc.hardware.devices import PRESETS

    return ", ".join(k for k, d in PRESETS.items() if d.memory is not None)


# the table

TEXT_ONLY = "--format {format} is not used with `convcalc {command}` (table, json, csv, markdown or latex)"
GRAPH_ONLY = ("--format {format} draws a network's graph: use it with `convcalc net`; "
              "`convcalc {command}` draws with --format html")
NOT_WITH_TRAIN = "{options} {does} not apply with --train"
LAYER_FIELDS = ("--out", "--kernel", "--stride", "--padding", "--dilation", "--groups",
                "--no-bias", "--output-padding", "--alpha-in", "--alpha-out", "--multiplier",
                "--mid", "--ceil-mode", "--scale", "--mode", "--output-size", "--heads",
                "--head-dim", "--window", "--shift", "--partition", "--position-bias",
                "--bias-mlp", "--cosine", "--hidden", "--ratio", "--activation", "--norm",
                "--count", "--index", "--size")
TRAIN = Given(("--train",))
BY_KIND = Given(("--by",))
"""--by kind (the one value RULES let through)."""
SWEEP = Given(("--sweep",))
NOT_SOLVE_BATCH = Task(("chain", "budget", "output"))


def _text_only(command: str) -> str:
    """TEXT_ONLY for `convcalc command` (with the options that make it text: `net --by kind`)."""
    return TEXT_ONLY.replace("{command}", command)


def _graph_only(command: str) -> str:
    return GRAPH_ONLY.replace("{command}", command)


RULES: tuple[Rule, ...] = (
    # layer
    KindFields("layer", LAYER_FIELDS),
    NotShown("layer", "--conventions", PICTURES),
    NotShown("layer", "--convention", PICTURES),
    NoFormat("layer", PICTURES, TRAIN, _text_only("layer --train")),
    Refuse("layer", ("--conventions", "--convention"), TRAIN, NOT_WITH_TRAIN),
    NoFormat("layer", GRAPHS, ALWAYS, _graph_only("layer")),
    # compare
    Needs("compare", ("--out", "--kernel"), ALWAYS,
          "compare needs {missing} (the standard conv to compare against)"),
    NotShown("compare", "--columns", GRAPHS),
    OneAtATime("compare", "--sweep", "option --sweep: one field at a time (got {count}: "
                                     "{names}); run one sweep per field"),
    Refuse("compare", ("--columns",), SWEEP,
           "option --columns: not used with --sweep (the matrix has one column per swept "
           "value)"),
    NoFormat("compare", PICTURES, SWEEP, _text_only("compare --sweep")),
    NoFormat("compare", PICTURES, TRAIN, _text_only("compare --train")),
    NoFormat("compare", GRAPHS, ALWAYS, _graph_only("compare")),
    # net
    NotShown("net", "--dtype", GRAPHS),
    NotShown("net", "--device", GRAPHS),
    NotShown("net", "--peak-tflops", GRAPHS),
    NotShown("net", "--bandwidth", GRAPHS),
    NotShown("net", "--conventions", PICTURES),
    NotShown("net", "--convention", PICTURES),
    NotShown("net", "--columns", GRAPHS),
    Refuse("net", ("--freeze", "--checkpoint", "--optimizer"), Missing(("--train",)),
           "{options} {needs} --train"),
    NoFormat("net", GRAPHS, TRAIN,
             "--format {format} is not used with `convcalc net --train` (table, json, csv, "
             "markdown, latex or html)"),
    Refuse("net", ("--by", "--convention"), TRAIN, NOT_WITH_TRAIN),
    Choice("net", "--by", ("kind",), "option --by: {value!r}: group by kind (the only "
                                     "grouping)"),
    NoFormat("net", PICTURES, BY_KIND, _text_only("net --by kind")),
    Refuse("net", ("--depth", "--top", "--columns", "--explain", "--conventions", "--convention"),
           BY_KIND, "{options} {does} not apply to --by kind (one row per layer kind; "
                             "--dtype and --device add its bytes and bound)"),
    Refuse("net", ("--top",), Formats(PICTURES),
           "--top is not used with --format {format}: the graph shows every layer (fold blocks "
           "with --depth N)"),
    Refuse("net", ("--explain",), Formats(GRAPHS),
           "--explain is not used with --format {format} (formulas are text: use --format "
           "table, markdown or html)"),
    ColumnNeeds("net", ("bound", "intensity", "time"), ("--device", "--peak-tflops", "--bandwidth"),
                "option --columns: {column} needs a device: --device NAME (convcalc net --help "
                "lists them) or --peak-tflops and --bandwidth"),
    # diff
    NoFormat("diff", frozenset({Format.html}), ALWAYS,
             "--format html is not used with `convcalc diff`: draw the two graphs with --format "
             "mermaid or dot, or open each network's report (convcalc net SPEC --format html)"),
    # import
    OneOf("import", ("FILE", "--torch"),
          "import needs an ONNX file or --torch package.module:factory (one of them)"),
    Needs("import", ("--input",), Given(("--torch",)),
          "--torch needs --input SHAPE (H×W×C, e.g. 224x224x3)"),
    Refuse("import", ("--unfold-bn",), Given(("--torch",)),
           "--unfold-bn applies to an ONNX file (a torch model's BatchNorms are never folded)"),
    # solve
    NoFormat("solve", PICTURES, ALWAYS, _text_only("solve")),
    Needs("solve", ("SPEC",), Task(("batch",)),
          "solve batch needs a network spec: convcalc solve batch SPEC --device a100-80gb "
          "--train"),
    Needs("solve", ("--train",), Task(("batch",)),
          "solve batch needs --train (the largest batch whose training step fits the device)"),
    Needs("solve", ("--device",), Task(("batch",)), "solve batch needs --device: one of "
                                                    "{memory_presets}"),
    Refuse("solve", ("SPEC", "--device", "--train", "--dtype"), NOT_SOLVE_BATCH,
           "SPEC, --device, --train and --dtype belong to solve batch"),
    Refuse("solve", ("--output", "--max-kernel", "--max-stride", "--max-dilation", "--max-macs",
                     "--max-params", "--divisor", "--strides", "--max-layers", "--limit",
                     "--from", "--to", "--kernel", "--stride", "--padding", "--dilation",
                     "--output-padding", "--groups", "--out", "--no-bias", "--ceil-mode"),
           Task(("batch",)), "{options}: not used with solve batch (the network is SPEC's; "
                             "--input and --channels-first may change its input)"),
    KindFields("solve", ("--kernel", "--stride", "--padding", "--dilation", "--output-padding",
                         "--groups", "--out", "--no-bias", "--ceil-mode"), NOT_SOLVE_BATCH),
    Refuse("solve", ("--input", "--output", "--max-kernel", "--max-stride", "--max-dilation",
                     "--max-macs", "--max-params", "--divisor", "--channels-first"),
           Task(("chain",)), "{options}: not used with a chain (--from/--to)"),
    Needs("solve", ("--from", "--to"), Task(("chain",)), "a chain needs both --from and --to"),
    Refuse("solve", ("--output", "--max-kernel", "--max-stride", "--max-dilation", "--strides",
                     "--max-layers", "--limit"),
           Task(("budget",)), "{options}: not used with a budget (--max-macs/--max-params)"),
    Refuse("solve", ("--strides", "--max-layers", "--divisor"), Task(("output",)),
           "{options}: not used with an output size (--output)"),
    Needs("solve", ("--output",), Task(("output",)),
          "solve needs --output SIZE (or --max-macs/--max-params for a budget, or --from/--to "
          "for a chain)"),
    Needs("solve", ("--input",), Task(("budget", "output")),
          "solve needs --input SHAPE (H×W×C, e.g. 28x28x1)"),
    # examples, kinds
    NoFormat("examples", PICTURES, ALWAYS, _text_only("examples")),
    NoFormat("kinds", PICTURES, ALWAYS, _text_only("kinds")),
)


def _group(rule: Rule) -> tuple[object, ...]:
    """Rules that break together give one message: same kind, command, condition, message."""
    return (type(rule), rule.command, getattr(rule, "when", None), getattr(rule, "message", None))


def first_broken(request: Request, fmt: Format) -> tuple[Rule, str] | None:
    """The first rule of the table the request breaks, and its message (naming every option
    its group refuses), or None."""
    rules = [r for r in RULES if r.command == request.COMMAND]
    for i, rule in enumerate(rules):
        if rule.broken(request, fmt):
            options = [o for r in rules[i:] if _group(r) == _group(rule)
                       for o in r.broken(request, fmt)]
            return rule, rule.render(list(dict.fromkeys(options)), request, fmt)
    return None


def check(request: Request, fmt: Format) -> None:
    """The request against RULES: the first broken rule is a SpecError (exit 2)."""
    broken = first_broken(request, fmt)
    if broken is not None:
        raise SpecError(broken[1])
