"""`torchinfo`: torchinfo 1.8.0, `summary(m, input_data=x).total_mult_adds`.

The total sums the leaf modules (`model_statistics.py:31-34`) of a count made from each module's
*parameters*, not from its op (`layer_info.py:225-245`): for each parameter named exactly
`weight` or `bias`, numel(param) · N · ∏(output spatial) when the class name contains "Conv",
else numel(param) · N. So a conv is PyTorch's MACs plus its bias adds, a transposed conv is its
weights times its *output* positions, a norm layer counts its 2·C parameters, a linear layer
its weights and biases once, and every module without such parameters (activations, pools,
upsampling, the export's LayerScale whose parameter is `gamma`, merges) counts 0. Printed as
`Total mult-adds (Units.GIGABYTES): 1.81` on Python 3.11 (`model_statistics.py:118`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

from convcalc.conventions import attention_ops
from convcalc.conventions.base import Convention, numel_out, table, torch_macs
from convcalc.conventions.ops import Op


def conv_transpose(op: Op) -> int:
    """numel(weight) · ∏(output spatial): C_in · (C_out/G) · ∏K per *output* position."""
    return op.input.channels * (op.output.channels // op.groups) * prod(op.kernel) * \
        prod(op.output.spatial)


def linear(op: Op) -> int:
    """numel(weight) · N = in · out: the batch is the only factor, also for an nn.Linear
    applied at every position of channels-last data (`op: channels_last`)."""
    return op.input.channels * op.output.channels


def linear_bias(op: Op) -> int:
    """numel(bias) · N = out."""
    return op.output.channels


def norm(op: Op) -> int:
    """numel(weight) + numel(bias): C each when present (no "Conv" in the class name)."""
    c = op.input.channels
    return (c if op.affine else 0) + (c if op.bias else 0)


TORCHINFO = Convention(
    tool="torchinfo", package="torchinfo", version="1.8.0", unit="MACs",
    call="summary(m, input_data=x).total_mult_adds",
    rules=table({
        "conv": torch_macs,            # numel(weight)·∏out = C_out·(C_in/G)·∏K·∏out
        "conv_bias": numel_out,        # numel(bias)·∏out = C_out·∏out
        "conv_transpose": conv_transpose, "conv_transpose_bias": numel_out,
        "linear": linear, "linear_bias": linear_bias,
        "batchnorm": norm, "layernorm2d": norm, "groupnorm": norm,
        **attention_ops.RULES["torchinfo"],
    }, [
        "relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
        "leaky_relu", "softmax", "identity", "maxpool", "avgpool", "adaptive_avgpool",
        "upsample", "add", "mul", "layer_scale", "cat", "split", "flatten", "channel_shuffle",
        "dropout", "stochastic_depth",
    ]),
    label=lambda value: "Total mult-adds",
    causes={"linear": "per_sample"},
)


# --- torchinfo's memory lines ----------------------------------------------------------------

STORAGE_OBJECT = 64
"""sys.getsizeof(torch.UntypedStorage) beyond its bytes, which torchinfo adds to the input."""

PARAMETRISED = {"conv", "conv_transpose", "linear", "layer_scale", "token_linear",
                "class_token", "pos_embedding"}
"""The calls whose module holds parameters whatever its fields (a norm only when affine)."""
NORMS = {"batchnorm", "layernorm2d", "groupnorm", "layernorm"}


@dataclass(frozen=True, slots=True)
class Sizes:
    """torchinfo 1.8.0's four size lines, in bytes (it prints them in MB = 10⁶ bytes, two
    decimals): `Input size` is `sys.getsizeof(x.untyped_storage())`, the input tensor's bytes
    plus the 64 bytes of the storage's Python object (`torchinfo.py`, `get_total_memory_used`;
    CPython 3.11, 64-bit); `Forward/backward pass size` twice the output
    of every leaf module that holds parameters (`model_statistics.py:33-35`, "x2 for
    gradients"; activations, pools, merges and parameter-free norms count nothing); `Params
    size` every parameter of a leaf module (buffers such as BatchNorm's running statistics are
    not counted, nor a parameter a module with children holds itself:
    `model_statistics.py:31-41`, attention_ops.nonleaf_params);
    `Estimated Total Size` their sum."""

    input_bytes: int
    forward_backward_bytes: int
    param_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes

    def to_dict(self) -> dict[str, int]:
        return {"input_bytes": self.input_bytes,
                "forward_backward_bytes": self.forward_backward_bytes,
                "param_bytes": self.param_bytes, "total_bytes": self.total_bytes}

    def lines(self) -> list[str]:
        """As torchinfo prints them: `f"{bytes / 1e6:0.2f}"`, its own float formatting (so a
        tie rounds as torchinfo rounds it)."""
        mb = [("Input size", self.input_bytes),
              ("Forward/backward pass size", self.forward_backward_bytes),
              ("Params size", self.param_bytes), ("Estimated Total Size", self.total_bytes)]
        return [f"{label} (MB): {n / 1e6:0.2f}" for label, n in mb]


def sizes(ops: Sequence[Sequence[Op]], input_elements: int, params: int, batch: int,
          element_bytes: int) -> Sizes:
    """torchinfo's size lines for the exported network's calls (`convcalc.conventions.ops`,
    batch 1) at `batch`, every tensor `element_bytes` wide (the model's dtype)."""
    held: dict[int, tuple[int, int, int]] = {}  # equal layers share one list of calls: once
    outputs = once = nonleaf = 0
    for row in ops:
        n = held.get(id(row))
        if n is None:
            n = held[id(row)] = (_held(row, False), _held(row, True),
                                 attention_ops.nonleaf_params(row))
        outputs += n[0]
        once += n[1]
        nonleaf += n[2]
    return Sizes(input_elements * batch * element_bytes + STORAGE_OBJECT,
                 2 * (outputs * batch + once) * element_bytes, (params - nonleaf) * element_bytes)


def _held(row: Sequence[Op], once: bool) -> int:
    """Outputs of the leaf modules with parameters that run: per sample, or (`once`) once per
    pass (Swin V2's position-bias MLP on its table). A token linear written F.linear (Swin V2's
    qkv) runs no module."""
    return sum(op.n_out for op in row if op.once == once and op.form != "function" and (
        op.op in PARAMETRISED or (op.op in NORMS and (op.affine or op.bias))))
