"""Re-derive every peer tool's total for the network fixtures from check_rules.py's rules.

    python scripts/peers/check_networks.py [tests/fixtures/peers/networks.json ...]
    python scripts/peers/check_networks.py --explain resnet18,dcgan_generator   # difference by cause

(It also takes layers.json: tracing the single layers checks the tracer against check_rules.MODELS'
hand-written descriptions, explicit `.add`/`torch.mul` calls included.)

Needs torch and torchvision, but only to read the networks' shapes: one forward pass records each
leaf module it runs (its kind, hyper-parameters, input and output shape) and each torch function
called outside a leaf module (the residual adds, SE gates, concatenations, DenseNet's F.relu, ...).
No count is taken from torch or from a tool: the totals come from check_rules.RULES applied to
those ops, and are compared to what the real tools reported in the committed fixture. An op kind
without a rule is an error. Exit status 0 when every tool's total and parameter count agree.

`x + y` and `y.add(x)` reach __torch_function__ as the same `torch.Tensor.add`, but the tools that
patch `torch.Tensor.add` see only the second; so the trace wraps the entry points the tools patch
(the same attributes, the same way) and names an untagged add/mul by its operator.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_rules as cr  # noqa: E402
import models  # noqa: E402
from run_peers import restored_torch  # noqa: E402

FIXTURE = cr.ROOT / "tests" / "fixtures" / "peers" / "networks.json"

# entry points some tool patches (ptflops pytorch_engine.py:348-456, calflops pytorch_ops.py:452-525,
# deepspeed profiler.py:890-970): a call through one of them is tagged with its public name
PATCHED_TORCH = ("add", "mul", "matmul", "mm", "bmm", "addmm", "baddbmm", "einsum")
PATCHED_TENSOR = ("add", "mul", "matmul", "mm", "bmm", "addmm")
PATCHED_F = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "relu", "prelu", "elu", "leaky_relu", "relu6", "silu", "gelu",
             "batch_norm", "layer_norm", "instance_norm", "group_norm", "avg_pool1d", "avg_pool2d",
             "avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_avg_pool1d",
             "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
             "adaptive_max_pool3d", "upsample", "interpolate", "softmax", "embedding")
# what an untagged call of these names is in the source (and torch.split's home module)
OPERATORS = {"torch.Tensor.add": "torch.Tensor.__add__", "torch.Tensor.add_": "torch.Tensor.__iadd__",
             "torch.Tensor.mul": "torch.Tensor.__mul__", "torch.functional.split": "torch.split"}


def _square(value: Any, what: str) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(set(values)) != 1 or isinstance(values[0], str):
        raise ValueError(f"{what}={value!r}: check_rules.Op describes square ints only")
    return int(values[0])


def kind_of(module: Any) -> str | None:
    """nn.X / tv.X for torch's and torchvision's modules; None for a module of our own."""
    cls = type(module)
    if cls.__module__.startswith("torch.nn"):
        return f"nn.{cls.__name__}"
    if cls.__module__.startswith("torchvision"):
        return f"tv.{cls.__name__}"
    return None


def leaf_op(module: Any, x: Any, y: Any) -> cr.Op:
    """check_rules.Op for a leaf module from its attributes and the shapes it saw (batch dropped)."""
    kind = kind_of(module)
    assert kind is not None
    shape = tuple(x.shape[1:])
    out = tuple(y.shape[1:])
    params = sum(p.numel() for p in module.parameters())
    common: dict[str, Any] = {"params": params, "out": out}
    if kind in ("nn.Conv2d", "nn.ConvTranspose2d"):
        if kind == "nn.ConvTranspose2d" and _square(module.output_padding, "output_padding"):
            raise ValueError("output_padding is not described by check_rules.Op")
        o = cr.Op(kind, shape, cout=module.out_channels, k=_square(module.kernel_size, "kernel"),
                  s=_square(module.stride, "stride"), p=_square(module.padding, "padding"),
                  d=_square(module.dilation, "dilation"), g=module.groups,
                  bias=module.bias is not None, **common)
        formula = o.convT_hw() if kind == "nn.ConvTranspose2d" else o.conv_hw()
        if (o.cout, *formula) != out:
            raise ValueError(f"{kind} output {out} differs from the formula's {formula}")
        return o
    if kind == "nn.Linear":
        return cr.Op(kind, shape, out_features=module.out_features, bias=module.bias is not None,
                     **common)
    if kind in ("nn.BatchNorm2d", "nn.GroupNorm"):
        return cr.Op(kind, shape, affine=bool(module.affine), **common)
    if kind in ("nn.LayerNorm", "tv.LayerNorm2d"):
        return cr.Op(kind, shape, affine=bool(module.elementwise_affine), **common)
    if kind in ("nn.MaxPool2d", "nn.AvgPool2d"):
        return cr.Op(kind, shape, k=_square(module.kernel_size, "kernel"),
                     s=_square(module.stride, "stride"), p=_square(module.padding, "padding"), **common)
    if kind == "nn.AdaptiveAvgPool2d":
        return cr.Op(kind, shape, out_hw=out[1:], **common)
    if kind == "nn.Softmax":
        return cr.Op(kind, shape, dim_size=x.shape[module.dim], **common)
    if kind == "nn.Upsample":
        return cr.Op(kind, shape, mode=module.mode, scale=float(module.scale_factor), **common)
    return cr.Op(kind, shape, **common)


def trace(model: Any, chw: tuple[int, ...]) -> tuple[list[cr.Op], int]:
    """The ops of one forward pass, and the parameters no leaf module owns (layer scales)."""
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode, resolve_name

    ops: list[cr.Op] = []
    inside = [0]
    tag: list[str] = []
    # a childless module of our own (models.py's LayerScale, Concat) is looked through: its ops are
    # the torch functions it calls, its parameters belong to no leaf
    leaves = [m for m in model.modules()
              if not any(True for _ in m.children()) and kind_of(m) is not None]
    handles = []
    for m in leaves:
        handles.append(m.register_forward_pre_hook(lambda mod, args: inside.__setitem__(0, inside[0] + 1)))

        def post(mod: Any, args: Any, out: Any) -> None:
            ops.append(leaf_op(mod, args[0], out))
            inside[0] -= 1

        handles.append(m.register_forward_hook(post))

    wrappers: dict[int, str] = {}  # torch hands __torch_function__ the attribute it finds: ours

    def tagged(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            tag.append(name)
            try:
                return fn(*args, **kwargs)
            finally:
                tag.pop()
        wrappers[id(call)] = name
        return call

    class Ops(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            name = wrappers.get(id(func)) or resolve_name(func) or repr(func)
            kind = tag[-1] if tag else OPERATORS.get(name, name)
            record = inside[0] == 0 and not name.endswith("__get__")  # x.shape reads compute nothing
            result = func(*args, **kwargs)
            if record:
                first = next((a for a in args if isinstance(a, torch.Tensor)), None)
                # functionals are counted on their input; elementwise ops on the broadcast result
                sample = first if kind.startswith("torch.nn.functional.") else result
                if not isinstance(sample, torch.Tensor):
                    sample = first
                shape = tuple(sample.shape[1:]) if sample is not None and sample.dim() else ()
                out = tuple(result.shape[1:]) if isinstance(result, torch.Tensor) else ()
                operands = tuple(tuple(a.shape) if isinstance(a, torch.Tensor) else ()
                                 for a in args[:2] if isinstance(a, (torch.Tensor, int, float)))
                ops.append(cr.Op(kind, shape, out=out, operands=operands))
            return result

    resolve_name(torch.add)  # build torch's name table from the unpatched functions first
    x = torch.zeros(1, *chw)
    try:
        with restored_torch():
            for space, names, label in ((torch, PATCHED_TORCH, "torch"),
                                        (torch.Tensor, PATCHED_TENSOR, "torch.Tensor"),
                                        (F, PATCHED_F, "torch.nn.functional")):
                for n in names:
                    if hasattr(space, n):
                        setattr(space, n, tagged(f"{label}.{n}", getattr(space, n)))
            with torch.no_grad(), Ops():
                model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    owned = sum(p.numel() for m in leaves for p in m.parameters())
    return ops, sum(p.numel() for p in model.parameters()) - owned


def check(fixture: Path) -> list[str]:
    """Compare the fixture's totals with the rules applied to the traced ops of its models."""
    data = json.loads(fixture.read_text())
    factory = getattr(models, data["factory"].rpartition(":")[2])
    entries = {name: (model, chw) for name, model, chw, *_ in factory()}
    problems: list[str] = []
    for name, record in data["models"].items():
        model, chw = entries[name]
        ops, extra = trace(model, chw)
        net = cr.Model(tuple(ops), extra_params=extra)
        unknown = sorted({o.kind for o in ops} - cr.ALL_KINDS)
        if unknown:
            problems.append(f"{name}: no rule for {unknown}")
            continue
        fcm = cr.total(cr.FLOP_COUNTER, net)
        if fcm != record["flop_counter"]["macs"]:
            problems.append(f"{name}: FlopCounterMode measured {record['flop_counter']['macs']}, "
                            f"the traced shapes give {fcm}")
        expected_errors = cr.MODELS[name].errors if name in cr.MODELS else {}
        for tool, rules in cr.RULES.items():
            got = record["tools"][tool]
            if "error" in got:
                if not got["error"].startswith(expected_errors.get(tool, "\0")):
                    problems.append(f"{name} / {tool}: the tool failed: {got['error']}")
                continue
            derived = cr.total(rules, net)
            if derived != got["value"]:
                problems.append(f"{name} / {tool}: measured {got['value']}, rules give {derived}")
            if cr.params(tool, net) != got["params"]:
                problems.append(f"{name} / {tool}: reports {got['params']} params, rules give "
                                f"{cr.params(tool, net)}")
    return problems


def explain(fixture: Path, names: list[str]) -> None:
    """Each tool's difference from FlopCounterMode's MACs, by op kind (the cause), from the rules."""
    data = json.loads(fixture.read_text())
    factory = getattr(models, data["factory"].rpartition(":")[2])
    for name, model, chw, *_ in factory():
        if name not in names:
            continue
        ops, _extra = trace(model, chw)
        print(f"{name}: FlopCounterMode MACs {data['models'][name]['flop_counter']['macs']:,}")
        for tool, rules in cr.RULES.items():
            scale = 2 if tool.endswith("-flops") else 1  # a FLOPs total against FlopCounterMode's FLOPs
            causes: dict[str, int | float] = {}
            for o in ops:
                diff = rules[o.kind](o) - scale * cr.FLOP_COUNTER[o.kind](o)
                if diff:
                    causes[o.kind] = causes.get(o.kind, 0) + diff
            parts = ", ".join(f"{k} {v:+,.0f}" for k, v in sorted(causes.items(), key=lambda kv: -abs(kv[1])))
            ref = "FCM FLOPs" if scale == 2 else "FCM MACs"
            print(f"  {tool:16} {data['models'][name]['tools'][tool]['value']:>15,} = {ref} {parts}")


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--explain":
        explain(FIXTURE, argv[2].split(","))
        return 0
    fixtures = [Path(a) for a in argv[1:]] or [FIXTURE]
    failed = 0
    for fixture in fixtures:
        problems = check(fixture)
        for line in problems:
            print(line)
        n = len(json.loads(fixture.read_text())["models"])
        print(f"{fixture.name}: {n} models traced x {len(cr.RULES)} tools: "
              + ("all rules agree with the measured totals and params" if not problems
                 else f"{len(problems)} disagreements"))
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
