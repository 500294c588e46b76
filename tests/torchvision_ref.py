"""torchvision's real models as the reference: params, MACs, per-leaf shapes and receptive fields.

Used by scripts/make_torchvision_fixtures.py to write tests/fixtures/torchvision_models.json, and
live by tests/test_torchvision_fixture.py when torch and torchvision are installed. Imports torch
and torchvision only inside functions, so the module loads everywhere.

Conventions:
- MACs = FlopCounterMode's FLOPs // 2 (FLOPs = 2·MACs), counted in eval() under no_grad. Only
  the ops FlopCounterMode counts (convolutions, matmuls) contribute; bias adds, normalisation,
  activations, pooling and element-wise ops count 0, as in FlopCounterMode.
- A leaf is a module with no child modules. `layers` holds one entry per *call* of a leaf, in
  execution order; its `macs` are the FLOPs FlopCounterMode counted during exactly that call,
  halved. A leaf's `params` are counted at its first call only (a leaf run twice, such as a
  ReLU that ResNet's blocks reuse, has no parameters in torchvision, but the rule keeps the sum
  right if one ever does).
- Entries of type `F.<op>` are functional pooling / resampling / linear ops that a non-leaf
  module calls directly (Inception's branch pools, DenseNet's and MobileNet v2's global pools,
  ShuffleNet v2's global `mean`, recorded as `F.mean`); their `name` is the calling module's
  qualified name. Activations called functionally (GoogLeNet's F.relu) are not recorded.
- `nonleaf_params` lists parameters that belong to a module with children and so to no leaf
  (ConvNeXt's per-block `layer_scale`, used through a plain multiplication).
"""

from __future__ import annotations

import sys
import types
from typing import Any

Shape = tuple[int, int, int]

# name -> (torchvision.models factory, extra kwargs, input (C, H, W)). Every model is built with
# weights=None (random init; nothing is downloaded) on top of these kwargs.
MODELS: dict[str, tuple[str, dict[str, Any], Shape]] = {
    "alexnet": ("alexnet", {}, (3, 224, 224)),
    "vgg16": ("vgg16", {}, (3, 224, 224)),
    "resnet18": ("resnet18", {}, (3, 224, 224)),
    "resnet50": ("resnet50", {}, (3, 224, 224)),
    "mobilenet_v2": ("mobilenet_v2", {}, (3, 224, 224)),
    "mobilenet_v2_w075_160": ("mobilenet_v2", {"width_mult": 0.75}, (3, 160, 160)),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, (3, 224, 224)),
    "efficientnet_b0": ("efficientnet_b0", {}, (3, 224, 224)),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}, (3, 224, 224)),
    "squeezenet1_1": ("squeezenet1_1", {}, (3, 224, 224)),
    # GoogLeNet and Inception v3 without their auxiliary classifiers (which only run in training
    # mode), without the ImageNet input re-normalisation (transform_input, three per-channel
    # affine ops on the input) and with torch's default init (init_weights=False: no scipy-style
    # truncated-normal pass, and no FutureWarning for leaving it unset).
    # torchvision publishes num_params 6,624,904 for googlenet: its weights drop the aux heads,
    # so that equals this model. It publishes 27,161,264 for inception_v3, aux head included;
    # without it the model has 23,834,568 (the AuxLogits head holds 3,326,696).
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": False,
                                "transform_input": False}, (3, 224, 224)),
    "densenet121": ("densenet121", {}, (3, 224, 224)),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False,
                                      "transform_input": False}, (3, 299, 299)),
    "regnet_y_400mf": ("regnet_y_400mf", {}, (3, 224, 224)),
    "convnext_tiny": ("convnext_tiny", {}, (3, 224, 224)),
    # segmentation at their 520×520 default; no backbone weights (nothing downloaded) and, as
    # weights=None builds them, no auxiliary head
    "deeplabv3_mobilenet_v3_large": ("segmentation.deeplabv3_mobilenet_v3_large",
                                     {"weights_backbone": None}, (3, 520, 520)),
    "lraspp_mobilenet_v3_large": ("segmentation.lraspp_mobilenet_v3_large",
                                  {"weights_backbone": None}, (3, 520, 520)),
}
SEGMENTATION = ("deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
"""MODELS whose output is a map (torchvision returns {"out": N×classes×H×W})."""

# layer types whose receptive field the fixture records (the functional pools are not addressable)
RF_TYPES = ("Conv2d", "MaxPool2d", "AvgPool2d")
# Gradients at or below DUST × the largest one count as float dust, not support. These networks
# make none: with positive weights nothing cancels, and a pixel outside the field gets an exact
# 0.0 (conv, linear, norm and pooling backward only ever sum products with exact zeros there),
# while real contributions at the field's edge are tiny: down to 3e-30 of the largest in
# DenseNet-121, 9e-21 in ConvNeXt-T, 3e-14 in ResNet-18, where the 1e-12 one might pick for dust
# shrinks DenseNet's and ConvNeXt's fields below the ones worked out by hand (143 → 135 rows for
# features.denseblock2.denselayer5.conv2). So 0.0; callers with a real source of dust (bilinear
# interpolation weights) pass their own.
DUST = 0.0
SEED = 20261123


def import_torchvision() -> Any:
    """torchvision, importable on CPU torch: its compiled ops (meta and autograd registrations)
    do not load there, so those two modules are stood in for by empty ones; the model
    definitions need neither. Raises ImportError when torch or torchvision is absent."""
    import torch  # noqa: F401  (ImportError here when torch is absent)

    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    import torchvision

    return torchvision


def factory_of(path: str) -> Any:
    """torchvision.models' factory `path` (`resnet50`, `segmentation.lraspp_mobilenet_v3_large`)."""
    target = import_torchvision().models
    for part in path.split("."):
        target = getattr(target, part)
    return target


def build(name: str) -> Any:
    """The torchvision model for a MODELS entry, random init, in eval mode."""
    factory, kwargs, _ = MODELS[name]
    model = factory_of(factory)(weights=None, **kwargs)
    return model.eval()


def _is_leaf(module: Any) -> bool:
    return next(iter(module.children()), None) is None


def _first_tensor(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):  # a segmentation model's {"out": …}
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _shape(value: Any) -> list[int] | None:
    t = _first_tensor(value)
    return None if t is None else [int(n) for n in t.shape]


def _functional_ops() -> dict[Any, str]:
    """Functional ops a non-leaf module may call directly that change the spatial size or cost
    MACs, keyed by the function object torch's __torch_function__ protocol hands over."""
    import torch
    import torch.nn.functional as F

    return {F.max_pool2d: "F.max_pool2d", F.avg_pool2d: "F.avg_pool2d",
            F.adaptive_avg_pool2d: "F.adaptive_avg_pool2d",
            F.adaptive_max_pool2d: "F.adaptive_max_pool2d", F.interpolate: "F.interpolate",
            F.linear: "F.linear", F.conv2d: "F.conv2d", torch.Tensor.mean: "F.mean",
            torch.mean: "F.mean", torch.matmul: "F.matmul"}


def measure_model(model: Any, shape: Shape) -> dict[str, Any]:
    """params, MACs, output shape and the per-leaf-call records of `model` on one (1, C, H, W)
    input, as PyTorch's FlopCounterMode and forward hooks see them (see the module docstring)."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils.flop_counter import FlopCounterMode

    names = {module: name for name, module in model.named_modules()}
    layers: list[dict[str, Any]] = []
    stack: list[str] = []  # qualified names of the modules running now, outermost first
    seen: set[str] = set()
    starts: dict[int, int] = {}  # id(leaf) -> FLOPs counted before its running call
    counter = FlopCounterMode(display=False)
    ops = _functional_ops()

    def total() -> int:
        return int(counter.get_total_flops())

    def pre(module: Any, args: Any) -> None:
        stack.append(names[module])
        if _is_leaf(module):
            starts[id(module)] = total()

    def post(module: Any, args: Any, output: Any) -> None:
        name = stack.pop()
        if not _is_leaf(module):
            return
        flops = total() - starts.pop(id(module))
        assert flops % 2 == 0, (name, flops)
        layers.append({
            "name": name, "type": type(module).__name__, "input": _shape(args),
            "output": _shape(output),
            "params": 0 if name in seen else sum(p.numel() for p in module.parameters()),
            "macs": flops // 2,
        })
        seen.add(name)

    class Functional(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            op = ops.get(func)
            # an op inside a leaf's own forward belongs to that leaf: not recorded apart
            if op is None or not stack or _is_leaf(modules[stack[-1]]):
                return func(*args, **kwargs)
            start = total()
            out = func(*args, **kwargs)
            flops = total() - start
            assert flops % 2 == 0, (op, flops)
            layers.append({"name": stack[-1], "type": op, "input": _shape(args),
                           "output": _shape(out), "params": 0, "macs": flops // 2})
            return out

    modules = dict(model.named_modules())
    handles = []
    for module in names:
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    x = torch.zeros(1, *shape)
    try:
        with torch.no_grad(), counter, Functional():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    flops = total()
    assert flops % 2 == 0
    # the per-call differences agree with FlopCounterMode's own per-module attribution (keyed
    # "<root class>.<path>"; a module reachable by two paths takes the last one, as ModuleTracker)
    keys = {m: type(model).__name__ + (f".{n}" if n else "")
            for n, m in model.named_modules(remove_duplicate=False)}
    by_module = counter.get_flop_counts()
    per_leaf: dict[str, int] = {}
    for layer in layers:
        if not layer["type"].startswith("F."):
            per_leaf[layer["name"]] = per_leaf.get(layer["name"], 0) + 2 * layer["macs"]
    for leaf, leaf_flops in per_leaf.items():
        assert sum(by_module.get(keys[modules[leaf]], {}).values()) == leaf_flops, leaf
    owned = {name for name, m in modules.items() if _is_leaf(m)}
    nonleaf = {f"{mod_name}.{p_name}" if mod_name else p_name: p.numel()
               for mod_name, m in modules.items() if mod_name not in owned
               for p_name, p in m.named_parameters(recurse=False)}
    unused = sorted(owned - seen)
    unused_params = {n: sum(p.numel() for p in modules[n].parameters()) for n in unused}
    unused_params = {n: v for n, v in unused_params.items() if v}
    return {
        "input": list(shape),
        "params": sum(p.numel() for p in model.parameters()),
        "macs": flops // 2,
        "output": _shape(y),
        "layers": layers,
        "nonleaf_params": nonleaf,
        "unused_params": unused_params,
    }


def measure(name: str) -> dict[str, Any]:
    """measure_model for a MODELS entry at its input size."""
    return measure_model(build(name), MODELS[name][2])


# --- receptive fields by gradient support ------------------------------------------------------


def _activations() -> tuple[type, ...]:
    import torch

    nn = torch.nn
    return (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Sigmoid, nn.Hardsigmoid,
            nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Mish, nn.Hardtanh, nn.PReLU, nn.SELU, nn.CELU)


def neutralise(model: Any, seed: int = SEED) -> Any:
    """`model` made fit for measuring receptive fields by gradient support, in place: float64,
    eval mode, activations -> Identity, MaxPool -> AvgPool with the same kernel, stride, padding
    and ceil_mode, every bias 0 and every other parameter random positive (scaled by 1/fan-in for
    matrices and kernels, so that a hundred layers neither overflow nor vanish).

    With everything positive no gradient vanishes by accident (no cancellation, no dead ReLU, no
    max-pool picking one input), so the support of d(unit)/d(input) is exactly what the unit
    depends on."""
    import torch

    nn = torch.nn
    acts = _activations()

    def replace(module: Any) -> None:
        for child_name, child in module.named_children():
            if isinstance(child, acts):
                setattr(module, child_name, nn.Identity())
            elif isinstance(child, nn.MaxPool2d):
                if child.dilation not in (1, (1, 1)) or child.return_indices:
                    raise ValueError(f"{child_name}: no average-pool stand-in for {child}")
                setattr(module, child_name, nn.AvgPool2d(child.kernel_size, child.stride,
                                                         child.padding, child.ceil_mode))
            else:
                replace(child)

    replace(model)
    model.double().eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p_name, p in model.named_parameters():
            if p_name.rsplit(".", 1)[-1] == "bias":
                p.zero_()
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_((torch.rand(p.shape, generator=gen, dtype=p.dtype) + 0.5) / fan_in)
    return model


def _neutral_functions() -> Any:
    """A TorchFunctionMode that does to functional calls what `neutralise` does to modules:
    GoogLeNet's BasicConv2d calls F.relu, Inception v3's blocks call F.max_pool2d."""
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    identities = {F.relu, F.relu6, F.silu, F.gelu, F.hardswish, F.hardsigmoid, F.sigmoid,
                  F.leaky_relu, F.elu, F.mish, F.hardtanh, torch.relu, torch.sigmoid,
                  torch.tanh, torch.Tensor.relu, torch.Tensor.sigmoid, torch.Tensor.relu_,
                  torch.relu_, F.relu_}

    class Neutral(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func in identities:
                return args[0]
            if func is F.max_pool2d or func is torch.max_pool2d:
                return _avg_for_max(*args, **kwargs)
            return func(*args, **kwargs)

    def _avg_for_max(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                     dilation: Any = 1, ceil_mode: bool = False,
                     return_indices: bool = False) -> Any:
        if dilation not in (1, (1, 1), [1, 1]) or return_indices:
            raise ValueError("no average-pool stand-in for a dilated or index-returning max pool")
        return F.avg_pool2d(x, kernel_size, stride or None, padding, ceil_mode)

    return Neutral()


def _squeeze_excitations(model: Any) -> list[Any]:
    tv = import_torchvision()
    return [m for m in model.modules() if isinstance(m, tv.ops.misc.SqueezeExcitation)]


def _bounded_scale(module: Any, args: Any, output: Any) -> Any:
    # With its activations made identities a squeeze-excitation block computes a scale of the
    # order of its input and returns scale · input: magnitudes square at every block and
    # overflow float64 by the end of EfficientNet. Dividing by a constant (detached) keeps
    # them near 1 and leaves the support of every gradient as it is.
    return output / args[0].detach().abs().mean()


def _detached_scale(module: Any, args: Any, output: Any) -> Any:
    # SqueezeExcitation.forward is `self._scale(input) * input`: the same product with the
    # channel scales held constant (and brought near 1, as in _bounded_scale)
    scale = module._scale(args[0]).detach()
    return scale / scale.mean() * args[0]


def module_supports(model: Any, shape: Shape, layer_names: list[str], seed: int = SEED,
                    local: bool = False, dust: float = DUST) -> dict[str, list[list[int]]]:
    """For each named leaf module of `model` (neutralised in place), the receptive field of the
    centre unit of its output (channel 0, position (H//2, W//2), first call) as [[lo, hi] rows,
    [lo, hi] columns] of the input pixels with non-zero gradient (clipped to the image, as
    gradients are).

    A squeeze-excitation block scales its input by a function of its global average, so every
    unit after the first one depends on the whole image. `local=True` holds those channel
    scales constant (detached), which leaves the field of the convolution and pooling path."""
    import torch

    neutralise(model, seed)
    modules = dict(model.named_modules())
    outputs: dict[str, Any] = {}
    handles = []
    se_hook = _detached_scale if local else _bounded_scale
    handles += [se.register_forward_hook(se_hook) for se in _squeeze_excitations(model)]

    def hook(name: str) -> Any:
        def capture(module: Any, args: Any, output: Any) -> Any:
            if name in outputs:
                return None
            outputs[name] = output
            # downstream gets a copy, so a later in-place op (ResNet's `out += identity`)
            # cannot rebase the captured tensor onto another layer
            return output.clone()
        return capture

    for name in layer_names:
        if name not in modules or not _is_leaf(modules[name]):
            raise KeyError(f"{name}: not a leaf module of {type(model).__name__}")
        handles.append(modules[name].register_forward_hook(hook(name)))
    gen = torch.Generator().manual_seed(seed + 1)
    x = (torch.rand(1, *shape, generator=gen, dtype=torch.float64) + 0.5).requires_grad_()
    try:
        with _neutral_functions():
            model(x)
    finally:
        for h in handles:
            h.remove()
    supports: dict[str, list[list[int]]] = {}
    for i, name in enumerate(layer_names):
        if name not in outputs:
            raise KeyError(f"{name}: did not run in forward")
        out = outputs[name]
        unit = out[0, 0, out.shape[2] // 2, out.shape[3] // 2]
        (grad,) = torch.autograd.grad(unit, x, retain_graph=i < len(layer_names) - 1)
        g = grad[0].abs().sum(dim=0)
        mask = g > g.max() * dust
        rows = torch.nonzero(mask.any(dim=1)).flatten()
        cols = torch.nonzero(mask.any(dim=0)).flatten()
        supports[name] = [[int(rows.min()), int(rows.max())], [int(cols.min()), int(cols.max())]]
    return supports


def gradient_supports(name: str, layer_names: list[str], local: bool = False,
                      dust: float = DUST) -> dict[str, list[list[int]]]:
    """module_supports for a MODELS entry at its input size."""
    return module_supports(build(name), MODELS[name][2], layer_names, local=local, dust=dust)


def has_squeeze_excitation(name: str) -> bool:
    return bool(_squeeze_excitations(build(name)))


def rf_layers(layers: list[dict[str, Any]], count: int = 30) -> list[str]:
    """Up to `count` leaf convs and pools spread evenly over the network by execution order
    (first and last included), each a module that runs once. Layers on a 1×1 input (the
    squeeze-excitation convs after their global pool) are left out: their field is whatever
    the global pool saw."""
    calls: dict[str, int] = {}
    for layer in layers:
        calls[layer["name"]] = calls.get(layer["name"], 0) + 1
    names = [layer["name"] for layer in layers
             if layer["type"] in RF_TYPES and calls[layer["name"]] == 1
             and layer["input"][2:] != [1, 1]]
    if len(names) <= count:
        return names
    picks = sorted({round(i * (len(names) - 1) / (count - 1)) for i in range(count)})
    return [names[i] for i in picks]


# --- attention models: every matmul counted ---------------------------------------------------

# name -> (factory, input (C, H, W), the module paths whose params and MACs are recorded: each
# a path convcalc's example names alike, so its rows under that path sum to the module's)
ATTENTION_MODELS: dict[str, tuple[str, Shape, list[str]]] = {
    "vit_b_16": ("vit_b_16", (3, 224, 224), [
        "conv_proj", *[f"encoder.layers.encoder_layer_{i}" for i in range(12)], "encoder.ln",
        "heads"]),
    "vit_b_32": ("vit_b_32", (3, 224, 224), ["conv_proj", "encoder.layers.encoder_layer_0",
                                              "heads"]),
    "swin_t": ("swin_t", (3, 224, 224), [
        "features.0", *[f"features.{s}.{i}" for s, n in ((1, 2), (3, 2), (5, 6), (7, 2))
                        for i in range(n)],
        "features.2", "features.4", "features.6", "norm", "head"]),
    "swin_v2_t": ("swin_v2_t", (3, 256, 256), [
        "features.0", *[f"features.{s}.{i}" for s, n in ((1, 2), (3, 2), (5, 6), (7, 2))
                        for i in range(n)],
        "features.2", "features.4", "features.6", "norm", "head",
        "features.1.0.attn", "features.7.1.attn"]),
    "swin_v2_b": ("swin_v2_b", (3, 256, 256), ["features.0", "features.1.0", "features.5.17",
                                                "features.6", "features.7.1", "head"]),
    "maxvit_t": ("maxvit_t", (3, 224, 224), [
        "stem", *[f"blocks.{b}.layers.{i}.layers.{part}"
                  for b, n in enumerate((2, 2, 5, 2)) for i in range(n)
                  for part in ("MBconv", "window_attention", "grid_attention")],
        "classifier"]),
}


def measure_attention(name: str) -> dict[str, Any]:
    """params and MACs of an ATTENTION_MODELS entry counting every matmul, as torchvision's
    documented GFLOPS do: FlopCounterMode with grad enabled on CPU and the math kernel of
    scaled_dot_product_attention (`torch.nn.attention.sdpa_kernel(SDPBackend.MATH)`), which
    decomposes the fused attention into the matmuls FlopCounterMode counts. Also what
    FlopCounterMode prints without that: under no_grad (nn.MultiheadAttention's fused fast path
    hides its projections and the attention) and with grad on the default kernel (the fused CPU
    attention is not counted). `modules`: path -> [params, MACs] for the listed paths."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    factory, shape, paths = ATTENTION_MODELS[name]
    tv = import_torchvision()
    model = getattr(tv.models, factory)(weights=None).eval()
    x = torch.zeros(1, *shape)
    full = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), full:
        y = model(x)
    fast = FlopCounterMode(display=False)
    with torch.no_grad(), fast:
        model(x)
    default = FlopCounterMode(display=False)
    with default:
        model(x)
    root = type(model).__name__
    counts = full.get_flop_counts()
    modules = {}
    for path in paths:
        module = model.get_submodule(path)
        flops = sum(counts.get(f"{root}.{path}", {}).values())
        modules[path] = [sum(p.numel() for p in module.parameters()), flops // 2]
    return {"input": list(shape), "output": [int(n) for n in y.shape],
            "params": sum(p.numel() for p in model.parameters()),
            "macs": full.get_total_flops() // 2,
            "macs_no_grad": fast.get_total_flops() // 2,
            "macs_grad_default_kernel": default.get_total_flops() // 2,
            "modules": modules}
