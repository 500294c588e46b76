"""The hostile ONNX corpus: each case writes a model file with tests/onnx_writer.py (no onnx
package needed) and says what `convcalc net FILE` must do: the exit code and a fragment of its
one-line error, or 0 and a fragment of its JSON when the file is fine (an unused hostile
constant costs nothing).

Each builder takes the folder to write into and returns the model's path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from onnx_writer import (
    INT64,
    graph,
    key,
    ld,
    model,
    node,
    packed,
    simple,
    tensor,
    value,
    varint,
    vi,
)

from convcalc.limits import MAX_LAYERS

Builder = Callable[[Path], Path]
W = tensor("w", [8, 3, 3, 3])
CONV = node("Conv", ["x", "w"], ["c"], name="conv")
INPUT = [1, 3, 8, 8]


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / f"{name}.onnx"
    path.write_bytes(data)
    return path


def file(name: str, data: bytes) -> Builder:
    return lambda folder: write(folder, name, data)


def after_conv(op: str, *inputs: str, inits: tuple[bytes, ...] = (), opset: int = 17,
               **attrs: object) -> bytes:
    """conv, then `op` on its output (and `inputs`), writing y."""
    return simple([CONV, node(op, ["c", *inputs], ["y"], name="n", **attrs)], [W, *inits],
                  INPUT, opset=opset)


def nested_adds(depth: int) -> bytes:
    """t_k = relu(t_{k-1}) + t_0, k = 1..depth: residuals inside residuals."""
    nodes = [node("Conv", ["x", "w"], ["t0"], pads=[1, 1, 1, 1], name="c")]
    for i in range(1, depth + 1):
        nodes.append(node("Relu", [f"t{i - 1}"], [f"r{i}"], name=f"/b{i}/relu/Relu"))
        nodes.append(node("Add", [f"r{i}", "t0"], [f"t{i}"], name=f"/b{i}/Add"))
    return simple(nodes, [tensor("w", [3, 3, 3, 3])], INPUT, out=f"t{depth}")


def million_nodes(folder: Path) -> Path:
    one = ld(1, node("Relu", ["x"], ["y"], name="r"))
    body = b"".join([one] * 1_000_001) + ld(11, value("x", INPUT)) + ld(12, value("y"))
    return write(folder, "million_nodes", model(body))


def gib_constant(folder: Path) -> Path:
    """An unused Constant node holding 1 GiB (a sparse file: nothing is on disk)."""
    size = 1 << 30
    data_tensor = packed(1, [size // 4]) + vi(2, 1) + ld(8, "huge") + key(9, 2) + varint(size)
    attribute = ld(1, "value") + vi(20, 4) + key(5, 2) + varint(len(data_tensor) + size)
    constant = ld(2, "unused") + ld(4, "Constant") + key(5, 2) + varint(len(attribute) +
                                                                          len(data_tensor) + size)
    head = graph([node("Conv", ["x", "w"], ["y"])], [value("x", INPUT)], [value("y")], [W])
    field = key(1, 2) + varint(len(constant) + len(attribute) + len(data_tensor) + size)
    body = len(head) + len(field) + len(constant) + len(attribute) + len(data_tensor) + size
    path = folder / "gib_constant.onnx"
    with path.open("wb") as f:
        f.write(vi(1, 8) + ld(8, ld(1, "") + vi(2, 17)) + key(7, 2) + varint(body) + head + field
                + constant + attribute + data_tensor)
        f.seek(size, os.SEEK_CUR)
        f.truncate()
    return path


def external(location: str) -> Builder:
    """A Reshape whose target shape lives in external data at `location` (so it is needed)."""
    def build(folder: Path) -> Path:
        shape = tensor("shape", [2], INT64, external={"location": location})
        return write(folder, "external", simple(
            [CONV, node("Reshape", ["c", "shape"], ["y"])], [W, shape], INPUT))
    return build


def external_unused(folder: Path) -> Path:
    """External data that nothing needs: never opened (the file does not exist)."""
    unused = tensor("unused", [4], external={"location": "/dev/zero"})
    return write(folder, "external_unused", simple([node("Conv", ["x", "w"], ["y"])],
                                                   [W, unused], INPUT))


def external_symlink(folder: Path) -> Path:
    (folder / "zero.bin").symlink_to("/dev/zero")
    return external("zero.bin")(folder)


BIG = (tensor("sh", [2], INT64, [200000, 200000]), tensor("one", [1], values=[1.0]))
RANGE = (tensor("s", [], INT64, [0]), tensor("l", [], INT64, [10**10]), tensor("d", [], INT64, [1]))

# name: (builder, exit code, fragment)
def unknown_op(op: str) -> bytes:
    """conv, an operator convcalc cannot read named `op` (its output's shape declared), relu:
    an `uncounted` layer whose operator is `op`."""
    g = graph([CONV, node(op, ["c"], ["u"], name="n"), node("Relu", ["u"], ["y"], name="r")],
              [value("x", INPUT)], [value("y", [1, 8, 3, 3])], [W])
    return model(g + ld(13, value("u", [1, 8, 3, 3])))


def einsum(equation: str) -> bytes:
    """One Einsum of the input and a constant, as MaxViT's attention products are written."""
    return model(graph([node("Einsum", ["x", "k"], ["y"], name="e", equation=equation)],
                       [value("x", [1, 2, 3, 4])], [value("y")], [tensor("k", [1, 2, 5, 4])]))


CASES: dict[str, tuple[Builder, int, str]] = {
    # the file itself
    "not_protobuf": (file("not_protobuf", b"this is not a model\n" * 20), 2, "not an ONNX model"),
    "empty": (file("empty", b""), 2, "the file is empty"),
    "truncated_varint": (file("truncated_varint", b"\x08\xff\xff"), 2, "a number is cut short"),
    "length_past_end": (file("length_past_end", vi(1, 8) + key(7, 2) + varint(1000) + b"\x0a"),
                        2, "runs past the end"),
    "wrong_wire_type": (file("wrong_wire_type", vi(1, 8) + vi(7, 3)), 2, "wire type 0"),
    "wire_type_7": (file("wire_type_7", b"\x0f\x00"), 2, "wire type 7"),
    "field_zero": (file("field_zero", b"\x00\x01"), 2, "field numbered 0"),
    "ten_byte_varint": (file("ten_byte_varint", b"\x08" + b"\xff" * 11), 2, "longer than 10"),
    "name_not_utf8": (file("name_not_utf8", model(graph(
        [ld(3, b"\xff\xfe") + ld(4, "Relu") + ld(1, "x") + ld(2, "y")], [value("x", INPUT)],
        [value("y")]))), 2, "is not UTF-8 text"),
    "no_graph": (file("no_graph", vi(1, 8)), 2, "no graph"),
    "no_opset": (file("no_opset", vi(1, 8) + ld(7, graph([CONV], [value("x", INPUT)],
                                                         [value("c")], [W]))),
                 2, "names no operator set"),
    "million_nodes": (million_nodes, 2, f"more than {MAX_LAYERS:,} nodes (the layer limit)"),
    # the graph's structure
    "no_outputs": (file("no_outputs", model(graph([CONV], [value("x", INPUT)], [], [W]))), 2,
                   "the ONNX graph has no outputs"),
    "conv_without_weight": (file("conv_without_weight", simple(
        [node("Conv", ["x"], ["y"])], [], INPUT)), 2, "has 1 input; Conv needs at least 2"),
    "conv_of_itself": (file("conv_of_itself", simple([node("Conv", ["x", "x"], ["y"])], [],
                                                     [3, 3, 3, 3])), 2,
                       "is computed from the input (an activation), not a weight"),
    "kernel_shape_5_on_3x3_weight": (file("kernel_shape_5_on_3x3_weight", simple(
        [node("Conv", ["x", "w"], ["y"], kernel_shape=[5, 5])], [W], INPUT)), 2,
        "kernel_shape [5, 5] differs from the weight's [3, 3]"),
    "weight_for_7_channels_on_3": (file("weight_for_7_channels_on_3", simple(
        [node("Conv", ["x", "w7"], ["y"])], [tensor("w7", [4, 7, 3, 3])], INPUT)), 2,
        "weight 4×7×3×3 takes 7 input channels (group 1); the input has 3"),
    "bias_wrong_size": (file("bias_wrong_size", simple(
        [node("Conv", ["x", "w", "b"], ["y"])], [W, tensor("b", [5])], INPUT)), 2,
        "bias 'b' is 5; it must be 8"),
    "two_nodes_one_output": (file("two_nodes_one_output", simple(
        [node("Conv", ["x", "w"], ["y"], name="a"), node("Relu", ["x"], ["y"], name="b")], [W],
        INPUT)), 2, "tensor 'y' is written by two nodes"),
    "undefined_input": (file("undefined_input", simple([node("Relu", ["ghost"], ["y"])], [],
                                                       INPUT)), 2,
                        "reads tensor 'ghost', which no node, input or initializer gives"),
    "auto_pad_bogus": (file("auto_pad_bogus", simple(
        [node("Conv", ["x", "w"], ["y"], auto_pad="BOGUS")], [W], INPUT)), 2,
        "auto_pad 'BOGUS' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"),
    "attribute_wrong_type": (file("attribute_wrong_type", simple(
        [node("Conv", ["x", "w"], ["y"], strides="two")], [W], INPUT)), 2,
        "attribute 'strides' is string; it must be ints"),
    "softmax_axis_text": (file("softmax_axis_text", after_conv("Softmax", axis="one")), 2,
                          "attribute 'axis' is string; it must be int"),
    "if_with_subgraph": (file("if_with_subgraph", simple(
        [CONV, node("Relu", ["c"], ["r"]),
         ld(1, "cond") + ld(2, "y") + ld(4, "If") + ld(5, ld(1, "then_branch") + vi(20, 5) +
                                                     ld(6, graph([CONV], [], [value("c")])))],
        [W, tensor("cond", [], 9, [True])], INPUT)), 2,
        "output 'y' has a shape convcalc cannot work out"),
    "dropout_ratio_inf": (file("dropout_ratio_inf", after_conv(
        "Dropout", "r", inits=(tensor("r", [], values=[float("inf")]),))), 2,
        "ratio inf is not in [0, 1)"),
    "dropout_ratio_nan": (file("dropout_ratio_nan", after_conv(
        "Dropout", opset=11, ratio=float("nan"))), 2, "ratio nan is not in [0, 1)"),
    "groupnorm_without_num_groups": (file("groupnorm_without_num_groups", after_conv(
        "GroupNormalization", "s", "b", inits=(tensor("s", [8]), tensor("b", [8])), opset=18)),
        2, "has no num_groups attribute"),
    "reshape_impossible": (file("reshape_impossible", after_conv(
        "Reshape", "t", inits=(tensor("t", [2], INT64, [7, -1]),))), 2,
        "cannot be reshaped to [7, -1]"),
    "opset_99": (file("opset_99", simple([CONV], [W], INPUT, out="c", opset=99)), 2,
                 "ONNX operator set 99 is not supported"),
    "convtranspose_output_shape_too_big": (file("convtranspose_output_shape_too_big", simple(
        [node("ConvTranspose", ["x", "wt"], ["y"], strides=[2, 2], output_shape=[40, 40])],
        [tensor("wt", [3, 4, 3, 3])], INPUT)), 1, "output_shape [40, 40] needs padding"),
    "nested_residuals_past_yaml_depth": (file("nested_residuals_past_yaml_depth",
                                              nested_adds(20)), 1,
                                         "nest 65 YAML levels deep (residuals, branches or "
                                         "splits inside each other); a spec holds at most 64"),
    "nested_residuals_70": (file("nested_residuals_70", nested_adds(70)), 1,
                            "more than 20 levels deep; a spec's YAML holds 64 levels"),
    "nested_residuals_2000": (file("nested_residuals_2000", nested_adds(2000)), 1,
                              "more than 20 levels deep"),
    # external data: in the model's folder only, read only when needed
    "external_absolute": (external("/etc/passwd"), 2, "is outside the model's folder"),
    "external_parent": (external("../secret.bin"), 2, "is outside the model's folder"),
    "external_missing": (external("missing.bin"), 2, "cannot read external data 'missing.bin'"),
    "external_symlink_to_dev_zero": (external_symlink, 2, "leads outside the model's folder"),
    # resources: what is not needed is never built
    "unused_expand_200000_squared": (file("unused_expand_200000_squared", simple(
        [CONV, node("Expand", ["one", "sh"], ["e"]), node("Relu", ["c"], ["y"])], [W, *BIG],
        INPUT)), 0, '"params": 216'),
    "unused_range_10_10": (file("unused_range_10_10", simple(
        [CONV, node("Range", ["s", "l", "d"], ["r"]), node("Relu", ["c"], ["y"])],
        [W, *RANGE], INPUT)), 0, '"params": 216'),
    "unused_constant_of_shape": (file("unused_constant_of_shape", simple(
        [CONV, node("ConstantOfShape", ["sh"], ["z"]), node("Relu", ["c"], ["y"])], [W, *BIG],
        INPUT)), 0, '"params": 216'),
    "unused_gib_constant": (gib_constant, 0, '"params": 216'),
    "unused_external_data": (external_unused, 0, '"params": 216'),
    # an invalid axis or index on the ops attention is read from (accepted silently once)
    "softmax_axis_99": (file("softmax_axis_99", after_conv("Softmax", axis=99)), 2,
                        "node 'n' (Softmax): axis 99 is outside rank 4"),
    "gather_index_past_the_axis": (file("gather_index_past_the_axis", after_conv(
        "Gather", "ix", inits=(tensor("ix", [1], dtype=INT64, values=[8]),), axis=1)), 2,
        "node 'n' (Gather): an index of [8] is outside axis 1 of size 8"),
    "gather_nan_index_of_a_constant": (file("gather_nan_index_of_a_constant", simple(
        [node("Gather", ["k", "ix"], ["s"], name="g"), node("Reshape", ["x", "s"], ["y"])],
        [tensor("k", [4], dtype=INT64, values=INPUT),
         tensor("ix", [4], values=[0.0, float("nan"), 2.0, 3.0])], INPUT)), 2,
        "the graph's output 'y' has a shape convcalc cannot work out"),
    "dropout_of_a_constant_with_the_input_as_ratio": (file(
        "dropout_of_a_constant_with_the_input_as_ratio", simple(
            [node("Dropout", ["i", "x"], ["y"], name="d")],
            [tensor("i", [1], dtype=INT64, values=[1])], INPUT)), 1,
        "d (Dropout): its data 'i' is a constant"),
    "einsum_two_arrows": (file("einsum_two_arrows", einsum("->->")), 2,
                          "node 'e' (Einsum): equation '->->' is not one of the form ab,bc->ac"),
    "einsum_output_axis_twice": (file("einsum_output_axis_twice", einsum("bhid,bhjd->bhii")), 2,
                                 "equation 'bhid,bhjd->bhii' is not one of the form"),
    # an unreadable operator's hostile name reaches the spec escaped (`$` read as a parameter,
    # escapes past the field's 200 characters, once)
    "unknown_op_with_dollars": (file("unknown_op_with_dollars", unknown_op("${bad} $x")), 0,
                                'x24{bad} \\\\x24x: not counted'),
    "unknown_op_of_300_bidi_controls": (file("unknown_op_of_300_bidi_controls",
                                             unknown_op("\u202e" * 300)), 0, '"kind": "uncounted"'),
    "expand_200000_squared_as_a_shape": (file("expand_200000_squared_as_a_shape", simple(
        [CONV, node("Expand", ["one", "sh"], ["e"]), node("Reshape", ["c", "e"], ["y"])],
        [W, *BIG], INPUT)), 2, "shape"),
}
