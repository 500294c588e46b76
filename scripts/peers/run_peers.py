"""Run every peer FLOP counter on every model of a factory and write what each reports, as JSON.

    . /work/venvs/peers/bin/activate        # made by scripts/peers/setup.sh
    python scripts/peers/run_peers.py scripts/peers/models.py:single_layers \
        -o tests/fixtures/peers/layers.json --per-module all
    python scripts/peers/run_peers.py scripts/peers/models.py:networks \
        -o tests/fixtures/peers/networks.json --per-module resnet18,mobilenet_v2,dcgan_generator
    python scripts/peers/run_peers.py scripts/peers/models.py:attention \
        -o tests/fixtures/peers/attention.json --tools ptflops,ptflops-aten,fvcore,thop,torchinfo
    python scripts/peers/run_peers.py scripts/peers/models.py:examples --merge \
        --only lraspp_mobilenet_v3_large -o tests/fixtures/peers/examples.json --tools ...

A factory is `path/to/file.py:function` or `dotted.module:function`; the function returns a list
of (name, nn.Module, input (C, H, W)), or (name, nn.Module, input, source) where `source` is a
JSON-able mapping copied into the record (models.py:examples and :kinds name the convcalc spec
each model was exported from, so the tests can analyse the same spec). Every tool runs on its
own deep copy of the model, in eval mode, on a batch of one (`--batch N`: N samples; ptflops
builds its own input of one), with its printing captured (stdout, stderr, file descriptors 1
and 2, logging and Python warnings), and with torch's
functions restored afterwards whatever it did. A tool that fails records its error text; the
run goes on.

Per model, per tool the record holds:
  value         the tool's total before its own unit scaling: an int when the number is whole,
                otherwise the exact float it returned; `returned` names the Python type it gave
  label, display   the word the tool prints beside that total, and the whole printed text
  params        the parameter count the tool reports (same int-or-float rule)
  per_module    {qualified module name: count} for the leaf modules the tool exposes
  own           {qualified name: count} a non-leaf module's own functional ops (fvcore, calflops,
                deepspeed)
  extra         other breakdowns the tool exposes (by operator, functional collectors, ...)
  version, warnings, error
and `flop_counter` holds PyTorch's FlopCounterMode: flops, macs = flops // 2, per_module (leaves),
by_op. `torch_params` is sum(p.numel()).

`--merge` writes the records into the existing file, replacing those of the same name and
keeping the others; a merged record whose environment differs from the file's (another tool
set, another version) carries its own `environment`, so the file says where each was measured.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# tool name (the contract convcalc uses) -> PyPI distribution it comes from
DISTRIBUTIONS = {
    "ptflops": "ptflops",
    "ptflops-aten": "ptflops",
    "fvcore": "fvcore",
    "thop": "thop",
    "torchinfo": "torchinfo",
    "calflops": "calflops",
    "calflops-flops": "calflops",
    "deepspeed": "deepspeed",
    "deepspeed-flops": "deepspeed",
}
TOOLS = list(DISTRIBUTIONS)
MAX_WARNINGS = 8
MAX_TEXT = 400


# ---------------------------------------------------------------- numbers and names

def number(v: Any) -> int | float | None:
    """An exact int when v is whole, else the float itself (thop returns float64 sums)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, bool):
        raise TypeError("a count cannot be a bool")
    if isinstance(v, int):
        return v
    f = float(v)
    return int(f) if f.is_integer() else f


def type_name(v: Any) -> str:
    t = type(v)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def leaf_names(model: Any) -> dict[int, str]:
    """id(module) -> qualified name, for modules without children."""
    return {id(m): n for n, m in model.named_modules() if not any(True for _ in m.children())}


def all_names(model: Any) -> dict[int, str]:
    return {id(m): n for n, m in model.named_modules()}


# ---------------------------------------------------------------- isolation

def _namespaces() -> list[Any]:
    import torch
    import torch.nn.functional as F

    spaces: list[Any] = [torch, F, torch.Tensor]
    if "einops" in sys.modules:
        spaces.append(sys.modules["einops"])
    return spaces


@contextlib.contextmanager
def restored_torch() -> Iterator[None]:
    """Undo any monkey-patching of torch, torch.nn.functional, torch.Tensor (and einops)."""
    spaces = _namespaces()
    saved = [(space, dict(vars(space))) for space in spaces]
    try:
        yield
    finally:
        for space, before in saved:
            now = dict(vars(space))
            for key, value in before.items():
                if now.get(key, object()) is not value:
                    setattr(space, key, value)
            for key in now.keys() - before.keys():
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(space, key)


@contextlib.contextmanager
def fd_captured() -> Iterator[Callable[[], str]]:
    """File descriptors 1 and 2 (C++ and subprocess output) into a temporary file; yields a reader."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = (os.dup(1), os.dup(2))
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)

        def read() -> str:
            sink.flush()
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            sink.seek(0, 2)
            return text

        try:
            yield read
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def captured() -> Iterator[dict[str, Any]]:
    """Everything the tool prints, logs or warns goes into the yielded dict, not the terminal.

    box["live"]() is the text printed so far; after the block box["warnings"] holds the unique
    warnings and log records (WARNING and above), at most MAX_WARNINGS of them.
    """
    box: dict[str, Any] = {"warnings": []}
    out, err = io.StringIO(), io.StringIO()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    quiet: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
    for name in ("DeepSpeed", "deepspeed", "fvcore", "iopath"):
        lg = logging.getLogger(name)
        quiet.append((lg, list(lg.handlers), lg.propagate))
        lg.handlers = []
        lg.propagate = True
    caught: list[warnings.WarningMessage] = []
    try:
        with fd_captured() as raw, warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            box["live"] = lambda: out.getvalue() + err.getvalue() + raw()
            yield box
    finally:
        box.pop("live", None)
        root.removeHandler(handler)
        for lg, handlers, propagate in quiet:
            lg.handlers = handlers
            lg.propagate = propagate
        seen = [f"{w.category.__name__}: {str(w.message).strip()}"[:MAX_TEXT] for w in caught]
        seen += [f"log {r.name} {r.levelname}: {r.getMessage().strip()}"[:MAX_TEXT] for r in records]
        unique = list(dict.fromkeys(seen))
        box["warnings"] = unique[:MAX_WARNINGS] + (
            [f"... {len(unique) - MAX_WARNINGS} more"] if len(unique) > MAX_WARNINGS else [])


def line_with(text: str, start: str) -> str | None:
    for line in text.splitlines():
        if line.strip().startswith(start):
            return " ".join(line.split())
    return None


# ---------------------------------------------------------------- the tools

Result = dict[str, Any]


SETTINGS = {"batch": 1}
"""`batch`: samples in the input the tools are given (`--batch`); ptflops builds its own input
of one sample from (C, H, W) whatever this says."""


def _input(chw: tuple[int, ...]) -> Any:
    import torch

    torch.manual_seed(0)
    return torch.randn(SETTINGS["batch"], *chw)


def run_ptflops(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> Result:
    """ptflops 0.7.5, backend='pytorch': module hooks + patched functionals and tensor ops."""
    import ptflops.pytorch_engine as engine
    from ptflops import get_model_complexity_info
    from ptflops.utils import flops_to_string

    names = all_names(model)
    per_module: dict[str, Any] = {}
    collectors: dict[str, list[Any]] = {}
    orig_remove = engine.remove_flops_counter_variables
    orig_patch_f, orig_patch_t = engine.patch_functional, engine.patch_tensor_ops

    def remove(module: Any) -> None:  # read __flops__ just before ptflops deletes it
        if hasattr(module, "__flops__"):
            per_module[names[id(module)]] = number(module.__flops__)
        orig_remove(module)

    def patch_f(collector: list[Any]) -> None:
        collectors["functional"] = collector
        orig_patch_f(collector)

    def patch_t(collector: list[Any]) -> None:
        collectors["tensor_ops"] = collector
        orig_patch_t(collector)

    engine.remove_flops_counter_variables = remove
    engine.patch_functional, engine.patch_tensor_ops = patch_f, patch_t
    try:
        macs, params = get_model_complexity_info(model, tuple(chw), as_strings=False,
                                                 print_per_layer_stat=False, backend="pytorch",
                                                 ost=sys.stdout)
    finally:
        engine.remove_flops_counter_variables = orig_remove
        engine.patch_functional, engine.patch_tensor_ops = orig_patch_f, orig_patch_t
    if macs is None:
        raise RuntimeError(text().strip()[-MAX_TEXT:] or "ptflops returned None")
    display = flops_to_string(macs)
    return {"value": macs, "label": display.split()[-1], "display": display, "params": params,
            "per_module": per_module,
            "extra": {k: number(sum(v)) for k, v in collectors.items()}}


def run_ptflops_aten(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> Result:
    """ptflops 0.7.5, backend='aten': a TorchDispatchMode over aten.convolution/mm/addmm/bmm."""
    import ptflops.aten_engine as engine
    from ptflops import get_model_complexity_info
    from ptflops.utils import flops_to_string

    kept: list[Any] = []
    base = engine.FlopCounterMode

    class Keeping(base):  # type: ignore[misc, valid-type]
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            kept.append(self)

    engine.FlopCounterMode = Keeping
    try:
        macs, params = get_model_complexity_info(model, tuple(chw), as_strings=False,
                                                 print_per_layer_stat=False, backend="aten",
                                                 ost=sys.stdout)
    finally:
        engine.FlopCounterMode = base
    if macs is None:
        raise RuntimeError(text().strip()[-MAX_TEXT:] or "ptflops returned None")
    counts = kept[0].flop_counts
    per_child = {name: number(sum(ops.values())) for name, ops in counts.items() if name != "Global"}
    display = flops_to_string(macs)
    return {"value": macs, "label": display.split()[-1], "display": display, "params": params,
            "per_module": per_child,
            "extra": {"granularity": "top-level children only (aten_engine.py:42)",
                      "by_op": {str(op): number(n) for op, n in counts.get("Global", {}).items()}}}


def run_fvcore(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> Result:
    """fvcore 0.1.5: FlopCountAnalysis(model, x).total() over a jit trace."""
    from fvcore.nn import FlopCountAnalysis, flop_count_table, parameter_count

    x = _input(chw)
    analysis = FlopCountAnalysis(model, (x,))
    total = analysis.total()
    leaves = leaf_names(model)
    by_module = analysis.by_module()
    per_module = {n: number(by_module.get(n, 0)) for n in leaves.values()}
    own: dict[str, Any] = {}  # a non-leaf module's own calls (torch.matmul in an attention)
    for n, m in model.named_modules():
        if id(m) not in leaves:
            mine = by_module.get(n, 0) - sum(by_module.get(f"{n}.{c}" if n else c, 0)
                                             for c, _ in m.named_children())
            if mine:
                own[n] = number(mine)
    table = flop_count_table(analysis, max_depth=1)
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in table.splitlines() if line.strip().startswith("|")]
    label = rows[0][-1] if rows else "?"
    display = rows[2][-1] if len(rows) > 2 else "?"  # header, separator, model row
    return {"value": total, "label": label, "display": display,
            "params": parameter_count(model)[""], "per_module": per_module, "own": own,
            "extra": {"by_operator": {k: number(v) for k, v in analysis.by_operator().items()},
                      "unsupported_ops": dict(analysis.unsupported_ops())}}


def run_thop(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> Result:
    """thop 0.1.1: thop.profile(model, inputs=(x,)) -> (total_ops, total_params) as floats."""
    from thop import clever_format, profile

    x = _input(chw)
    macs, params, info = profile(model, inputs=(x,), verbose=False, ret_layer_info=True)
    per_module: dict[str, Any] = {}

    def walk(tree: dict[str, Any], prefix: str) -> None:
        for name, (ops, _params, sub) in tree.items():
            qual = f"{prefix}{name}"
            if sub:
                walk(sub, qual + ".")
            else:
                per_module[qual] = number(ops)

    walk(info, "")
    return {"value": macs, "label": "macs", "display": clever_format(macs, "%.3f"),
            "label_source": "thop prints no total; its README names it: macs, params = profile(...)",
            "params": params, "per_module": per_module}


def run_torchinfo(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> Result:
    """torchinfo 1.8.0: summary(model, input_data=x).total_mult_adds."""
    from torchinfo import summary

    x = _input(chw)
    stats = summary(model, input_data=x, verbose=0, mode="eval",
                    col_names=("output_size", "num_params", "mult_adds"))
    names = all_names(model)
    per_module: dict[str, int] = {}
    for layer in stats.summary_list:
        if layer.is_leaf_layer:
            key = names[id(layer.module)]
            per_module[key] = per_module.get(key, 0) + int(layer.macs)
    display = line_with(str(stats), "Total mult-adds") or "?"
    return {"value": stats.total_mult_adds, "label": "Total mult-adds", "display": display,
            "params": stats.total_params, "per_module": per_module,
            "extra": {"trainable_params": stats.trainable_params}}


def _own_counts(model: Any, attr: str) -> tuple[dict[str, Any], dict[str, Any]]:
    names = all_names(model)
    leaves: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for m in model.modules():
        value = number(getattr(m, attr, 0))
        if not any(True for _ in m.children()):
            leaves[names[id(m)]] = value
        elif value:
            own[names[id(m)]] = value
    return leaves, own


def run_calflops(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> dict[str, Result]:
    """calflops 0.3.2: calculate_flops(model, input_shape) -> (flops, macs, params)."""
    import calflops.calculate_pipline as pipeline
    from calflops import calculate_flops

    snap: dict[str, Any] = {}
    orig_end = pipeline.CalFlopsPipline.end_flops_calculate

    def end(self: Any) -> None:  # read __flops__/__macs__ before calflops deletes them
        snap["flops"] = _own_counts(self.model, "__flops__")
        snap["macs"] = _own_counts(self.model, "__macs__")
        orig_end(self)

    pipeline.CalFlopsPipline.end_flops_calculate = end  # type: ignore[method-assign]
    try:
        flops, macs, params = calculate_flops(model, input_shape=(SETTINGS["batch"], *chw),
                                              print_results=True, print_detailed=False,
                                              output_as_string=False)
    finally:
        pipeline.CalFlopsPipline.end_flops_calculate = orig_end  # type: ignore[method-assign]
    printed = text()
    macs_line = line_with(printed, "fwd MACs:") or "?"
    flops_line = line_with(printed, "fwd FLOPs:") or "?"
    return {
        "calflops": {"value": macs, "label": "fwd MACs", "display": macs_line, "params": params,
                     "per_module": snap["macs"][0], "own": snap["macs"][1]},
        "calflops-flops": {"value": flops, "label": "fwd FLOPs", "display": flops_line,
                           "params": params, "per_module": snap["flops"][0], "own": snap["flops"][1]},
    }


def run_deepspeed(model: Any, chw: tuple[int, ...], text: Callable[[], str]) -> dict[str, Result]:
    """DeepSpeed's FlopsProfiler: get_model_profile(model, input_shape) -> (flops, macs, params)."""
    from deepspeed.profiling.flops_profiler import get_model_profile
    from deepspeed.profiling.flops_profiler import profiler as prof

    snap: dict[str, Any] = {}
    orig_end = prof.FlopsProfiler.end_profile

    def end(self: Any) -> None:
        snap["flops"] = _own_counts(self.model, "__flops__")
        snap["macs"] = _own_counts(self.model, "__macs__")
        orig_end(self)

    prof.FlopsProfiler.end_profile = end  # type: ignore[method-assign]
    try:
        flops, macs, params = get_model_profile(model, input_shape=(SETTINGS["batch"], *chw),
                                                print_profile=True, detailed=False,
                                                as_string=False)
    finally:
        prof.FlopsProfiler.end_profile = orig_end  # type: ignore[method-assign]
    printed = text()
    macs_line = line_with(printed, "fwd MACs per GPU:") or "?"
    flops_line = line_with(printed, "fwd flops per GPU:") or "?"
    return {
        "deepspeed": {"value": macs, "label": "fwd MACs per GPU", "display": macs_line,
                      "params": params, "per_module": snap["macs"][0], "own": snap["macs"][1]},
        "deepspeed-flops": {"value": flops, "label": "fwd flops per GPU", "display": flops_line,
                            "params": params, "per_module": snap["flops"][0], "own": snap["flops"][1]},
    }


# one runner may serve two tool names (the MACs and the FLOPs of calflops and of deepspeed)
RUNNERS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "ptflops": (run_ptflops, ("ptflops",)),
    "ptflops-aten": (run_ptflops_aten, ("ptflops-aten",)),
    "fvcore": (run_fvcore, ("fvcore",)),
    "thop": (run_thop, ("thop",)),
    "torchinfo": (run_torchinfo, ("torchinfo",)),
    "calflops": (run_calflops, ("calflops", "calflops-flops")),
    "deepspeed": (run_deepspeed, ("deepspeed", "deepspeed-flops")),
}


def version(tool: str) -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTIONS[tool])
    except importlib.metadata.PackageNotFoundError:
        return None


def run_tool(runner: str, model: Any, chw: tuple[int, ...]) -> dict[str, Result]:
    """Run one runner on a fresh copy of the model; never raises."""
    fn, tools = RUNNERS[runner]
    started = time.perf_counter()
    results: dict[str, Result]
    with restored_torch(), captured() as box:
        try:
            mine = copy.deepcopy(model).eval()
            got = fn(mine, chw, box["live"])
            results = got if runner in ("calflops", "deepspeed") else {tools[0]: got}
        except Exception as e:  # a failing peer tool is a finding to record, not a crash
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                          if "site-packages" in f.filename), None)
            error = f"{type(e).__name__}: {str(e).strip()}"[:MAX_TEXT] + (f" (at {where})" if where else "")
            results = {t: {"error": error} for t in tools}
    seconds = round(time.perf_counter() - started, 2)
    for tool, r in results.items():
        if "value" in r:
            r["returned"] = type_name(r["value"])
            r["value"] = number(r["value"])
            r["params"] = number(r.get("params"))
        r["version"] = version(tool)
        r["warnings"] = box["warnings"]
    print(f"  {runner}: {seconds:.2f}s", file=sys.stderr)
    return results


def flop_counter(model: Any, chw: tuple[int, ...]) -> dict[str, Any]:
    """PyTorch's FlopCounterMode on the same model: FLOPs, MACs = FLOPs // 2, per leaf module."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    mine = copy.deepcopy(model).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        mine(_input(chw))
    flops = int(counter.get_total_flops())
    root = type(mine).__name__
    counts = counter.get_flop_counts()
    leaves = set(leaf_names(mine).values())
    per_module: dict[str, int] = {}
    for key, ops in counts.items():
        name = key[len(root) + 1:] if key.startswith(root + ".") else None
        if name in leaves:
            per_module[name] = int(sum(ops.values()))
    by_op = {str(op): int(n) for op, n in counts.get("Global", {}).items()}
    return {"flops": flops, "macs": flops // 2, "per_module": per_module, "by_op": by_op,
            "version": torch.__version__}


# ---------------------------------------------------------------- driver

def load_factory(spec: str) -> Callable[[], list[tuple[str, Any, tuple[int, int, int]]]]:
    where, _, func = spec.rpartition(":")
    if not where or not func:
        raise SystemExit(f"factory must be MODULE:FUNCTION, got {spec!r}")
    if where.endswith(".py") or os.sep in where:
        path = Path(where).resolve()
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise SystemExit(f"cannot load {path}")
        module: types.ModuleType = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    factory: Callable[[], list[tuple[str, Any, tuple[int, int, int]]]] = getattr(module, func)
    return factory


def environment() -> dict[str, Any]:
    import platform

    import torch

    env: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("torchvision", *sorted(set(DISTRIBUTIONS.values()))):
        try:
            env[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            env[dist] = None
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("factory", help="path/to/models.py:function or dotted.module:function")
    parser.add_argument("-o", "--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--tools", default=",".join(RUNNERS),
                        help=f"comma-separated runners (default: all of {','.join(RUNNERS)})")
    parser.add_argument("--per-module", default="all",
                        help="'all', 'none', or comma-separated model names that keep per-module data")
    parser.add_argument("--only", default="", help="comma-separated model names to run (default: all)")
    parser.add_argument("--batch", type=int, default=1,
                        help="samples in the input (ptflops always builds one)")
    parser.add_argument("--merge", action="store_true",
                        help="merge the records into the existing OUT (same names replaced)")
    args = parser.parse_args(argv)

    runners = [t for t in args.tools.split(",") if t]
    unknown = set(runners) - set(RUNNERS)
    if unknown:
        raise SystemExit(f"unknown tools: {sorted(unknown)}; known: {list(RUNNERS)}")
    only = {n for n in args.only.split(",") if n}
    SETTINGS["batch"] = args.batch
    keep = args.per_module

    with captured():  # importing torchvision, deepspeed etc. prints; keep the terminal clean
        entries = load_factory(args.factory)()
    records: dict[str, Any] = {}
    for name, model, chw, *source in entries:
        if only and name not in only:
            continue
        detail = keep == "all" or (keep != "none" and name in keep.split(","))
        started = time.perf_counter()
        record: dict[str, Any] = {
            "input": list(chw) if args.batch == 1 else [args.batch, *chw],
            "torch_params": sum(p.numel() for p in model.parameters()),
            "flop_counter": flop_counter(model, chw),
            "tools": {},
        }
        if source:
            record["source"] = source[0]
        for runner in runners:
            record["tools"].update(run_tool(runner, model, chw))
        if not detail:
            record["flop_counter"].pop("per_module")
            for r in record["tools"].values():
                r.pop("per_module", None)
                r.pop("own", None)
        records[name] = record
        failed = [t for t, r in record["tools"].items() if "error" in r]
        print(f"{name}: {time.perf_counter() - started:.1f}s"
              + (f"  failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    env = environment()
    data = {"factory": args.factory, "environment": env, "models": records}
    if args.merge and args.out.exists():
        data = json.loads(args.out.read_text())
        if data["factory"] != args.factory:
            raise SystemExit(f"--merge: {args.out} was made by {data['factory']}, "
                             f"not {args.factory}")
        for name, record in records.items():
            data["models"][name] = record | ({} if env == data["environment"]
                                             else {"environment": env})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out} ({len(records)} models)", file=sys.stderr)


if __name__ == "__main__":
    main()
