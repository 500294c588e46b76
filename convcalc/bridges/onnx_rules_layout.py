"""ONNX shape rules of the operators that move, cut or make data without weights.

Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Pad, Resize and
Upsample, the reductions, Shape, Size, Gather, Expand, Tile, ConstantOfShape, Range,
SpaceToDepth and DepthToSpace. Takes a node, its `Attrs` and its inputs' shapes (and the
constant inputs' values a target shape or bounds need); gives its outputs' shapes.
"""

from __future__ import annotations

import math

from convcalc.bridges.onnx_nodes import Attrs, Dims, GraphError, broadcast, dims_text, node_label
from convcalc.bridges.onnx_proto import NodeInfo
from convcalc.bridges.onnx_rules import RuleBook


class LayoutRules(RuleBook):
    """The rules of the operators without weights."""

    def rule_Flatten(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axis = at.integer("axis", 1)
        if not -len(x) <= axis <= len(x):
            raise GraphError(f"{node_label(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x) + 1 if axis >= 0 else len(x)
        return [(math.prod(x[:axis]), math.prod(x[axis:]))]

    def rule_Reshape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        target = self.ints(n, n.inputs[1], "the target shape")
        if target is None:
            return None
        allow_zero = at.integer("allowzero", 0)
        out = []
        for i, d in enumerate(target):
            if d == 0 and not allow_zero:
                if i >= len(x):
                    raise GraphError(f"{node_label(n)}: shape {target} copies axis {i} of a rank-"
                                     f"{len(x)} input")
                out.append(x[i])
            else:
                out.append(d)
        if out.count(-1) > 1 or any(d < -1 for d in out):
            raise GraphError(f"{node_label(n)}: shape {target} is not a valid target")
        total = math.prod(x)
        if -1 in out:
            known = math.prod(d for d in out if d != -1)
            if known == 0 or total % known:
                raise GraphError(f"{node_label(n)}: {dims_text(x)} cannot be reshaped to {target}")
            out[out.index(-1)] = total // known
        if math.prod(out) != total:
            raise GraphError(f"{node_label(n)}: {dims_text(x)} cannot be reshaped to {target}")
        return [tuple(out)]

    def axes(self, n: NodeInfo, at: Attrs, index: int, rank: int) -> list[int] | bool | None:
        """The `axes` of a node, from its attribute or its input (opset 13+); False: none."""
        attr = at.ints("axes")
        if attr is not None:
            values: list[int] | None = attr
        elif len(n.inputs) > index and n.inputs[index]:
            values = self.ints(n, n.inputs[index], "axes")
            if values is None:
                return None
        else:
            return False
        assert values is not None
        if any(not -rank <= a < rank for a in values):
            raise GraphError(f"{node_label(n)}: axes {values} are outside rank {rank}")
        norm = [a % rank for a in values]
        if len(set(norm)) != len(norm):
            raise GraphError(f"{node_label(n)}: axes {values} repeat an axis")
        return norm

    def rule_Squeeze(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axes = self.axes(n, at, 1, len(x))
        if axes is None:
            return None
        if axes is False:
            return [tuple(d for d in x if d != 1)]
        assert isinstance(axes, list)
        if any(x[a] != 1 for a in axes):
            raise GraphError(f"{node_label(n)}: squeezes an axis of {dims_text(x)} that is not 1")
        return [tuple(d for i, d in enumerate(x) if i not in axes)]

    def rule_Unsqueeze(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                       ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        count = len(at.ints("axes") or []) or len(self.values(n.inputs[1]) or []) \
            if len(n.inputs) > 1 or at.ints("axes") is not None else 0
        axes = self.axes(n, at, 1, len(x) + count)
        if axes is None:
            return None
        if axes is False:
            raise GraphError(f"{node_label(n)} has no axes")
        assert isinstance(axes, list)
        out: list[int] = []
        it = iter(x)
        for i in range(len(x) + len(axes)):
            out.append(1 if i in axes else next(it))
        return [tuple(out)]

    def rule_Transpose(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                       ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        perm = at.ints("perm")
        perm = list(range(len(x)))[::-1] if perm is None else perm
        if sorted(perm) != list(range(len(x))):
            raise GraphError(f"{node_label(n)}: perm {perm} is not a permutation of {len(x)} axes")
        return [tuple(x[p] for p in perm)]

    def rule_Concat(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        if any(s is None for s in shapes):
            return None
        parts: list[Dims] = [s for s in shapes if s is not None]
        axis = at.integer("axis")
        if axis is None:
            raise GraphError(f"{node_label(n)} has no axis")
        rank = len(parts[0])
        if not -rank <= axis < rank or any(len(p) != rank for p in parts):
            raise GraphError(f"{node_label(n)}: inputs {', '.join(map(dims_text, parts))} do not "
                             f"concatenate on axis {axis}")
        axis %= rank
        for p in parts:
            if p[:axis] + p[axis + 1:] != parts[0][:axis] + parts[0][axis + 1:]:
                raise GraphError(f"{node_label(n)}: inputs {', '.join(map(dims_text, parts))} do not "
                                 f"concatenate on axis {axis}")
        out = list(parts[0])
        out[axis] = sum(p[axis] for p in parts)
        return [tuple(out)]

    def rule_Split(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                   ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axis = at.integer("axis", 0)
        if not -len(x) <= axis < len(x):
            raise GraphError(f"{node_label(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x)
        sizes = at.ints("split")
        if sizes is None and len(n.inputs) > 1 and n.inputs[1]:
            sizes = self.ints(n, n.inputs[1], "split")
            if sizes is None:
                return None
        count = len(n.outputs)
        if sizes is None:
            parts = at.integer("num_outputs", count)
            if parts != count or parts < 1:
                raise GraphError(f"{node_label(n)}: num_outputs {parts} but {count} outputs")
            each = -(-x[axis] // parts)
            sizes = [min(each, max(0, x[axis] - each * i)) for i in range(parts)]
        if len(sizes) != count or sum(sizes) != x[axis] or any(s < 0 for s in sizes):
            raise GraphError(f"{node_label(n)}: split {sizes} does not cut {x[axis]} into {count}")
        return [(*x[:axis], s, *x[axis + 1:]) for s in sizes]

    def rule_Slice(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                   ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        bounds = self.slice_bounds(n, at, x)
        if bounds is None:
            return None
        return [tuple(len(range(*b)) for b in bounds)]

    def rule_Pad(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        pads = at.ints("pads")
        if pads is None and len(n.inputs) > 1 and n.inputs[1]:
            pads = self.ints(n, n.inputs[1], "pads")
            if pads is None:
                return None
        axes = list(range(len(x)))
        if len(n.inputs) > 3 and n.inputs[3]:
            given = self.ints(n, n.inputs[3], "axes")
            if given is None:
                return None
            axes = [a % len(x) for a in given]
        if pads is None or len(pads) != 2 * len(axes):
            raise GraphError(f"{node_label(n)}: pads {pads} must be {2 * len(axes)} numbers")
        out = list(x)
        for i, a in enumerate(axes):
            out[a] += pads[i] + pads[len(axes) + i]
        return [tuple(out)]

    def rule_Resize(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        sizes = scales = None
        if n.op_type == "Upsample" and at.floats("scales") is not None:
            scales = at.floats("scales")
        elif n.op_type == "Upsample" and len(n.inputs) > 1:
            scales = self.values(n.inputs[1])
            if scales is None:
                return None
        elif len(n.inputs) > 3 and n.inputs[3]:
            sizes = self.ints(n, n.inputs[3], "sizes")
            if sizes is None:
                return None
        elif len(n.inputs) > 2 and n.inputs[2]:
            scales = self.values(n.inputs[2])
            if scales is None:
                return None
        elif len(n.inputs) > 1 and n.inputs[1] and n.op_type == "Resize" and \
                self.dims(n.inputs[1]) is not None:
            scales = self.values(n.inputs[1])  # opset 10: (X, scales)
            if scales is None:
                return None
        axes = at.ints("axes") or list(range(len(x)))
        policy = at.string("keep_aspect_ratio_policy", "stretch")
        if sizes is not None:
            if len(sizes) != len(axes) or policy != "stretch" or any(s < 0 for s in sizes):
                raise GraphError(f"{node_label(n)}: sizes {sizes} do not fit rank {len(x)}")
            out = list(x)
            for a, s in zip(axes, sizes, strict=True):
                out[a % len(x)] = s
            return [tuple(out)]
        if scales is None or len(scales) != len(axes) or any(
                not isinstance(s, int | float) or not math.isfinite(s) or s <= 0 or s > 1e6
                for s in scales):
            raise GraphError(f"{node_label(n)}: scales {scales} must be {len(axes)} finite numbers "
                             "> 0")
        scaled = list(x)
        for a, factor in zip(axes, scales, strict=True):
            scaled[a % len(x)] = math.floor(x[a % len(x)] * factor)
        return [tuple(scaled)]

    rule_Upsample = rule_Resize

    def rule_ReduceMean(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                        ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axes = self.axes(n, at, 1, len(x))
        if axes is None:
            return None
        keep = at.integer("keepdims", 1)
        if axes is False or axes == []:
            if at.integer("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(len(x)))
        assert isinstance(axes, list)
        return [tuple(1 if i in axes else d for i, d in enumerate(x) if keep or i not in axes)]

    rule_ReduceMax = rule_ReduceMean
    rule_ReduceSum = rule_ReduceMean
    rule_ReduceMin = rule_ReduceMean
    rule_ReduceProd = rule_ReduceMean
    rule_ReduceL2 = rule_ReduceMean

    def rule_Shape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        return [(len(x[slice(at.integer("start", 0), at.integer("end", None))]),)]

    def rule_Size(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        return [()]

    def rule_Gather(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x, idx = shapes[0], shapes[1]
        if x is None or idx is None:
            return None
        axis = at.integer("axis", 0)
        if not x or not -len(x) <= axis < len(x):
            raise GraphError(f"{node_label(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x)
        index = self.values(n.inputs[1])
        if index and x[axis] and any(isinstance(i, int) and not -x[axis] <= i < x[axis]
                                     for i in index):
            raise GraphError(f"{node_label(n)}: an index of {index[:4]} is outside axis {axis} of "
                             f"size {x[axis]}")
        return [(*x[:axis], *idx, *x[axis + 1:])]

    def rule_Expand(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        target = self.ints(n, n.inputs[1], "the shape")
        if target is None:
            return None
        if any(d < 0 for d in target):
            raise GraphError(f"{node_label(n)}: shape {target} has a negative size")
        return [broadcast(n, [x, tuple(target)])]

    def rule_Tile(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        reps = self.ints(n, n.inputs[1], "repeats")
        if reps is None:
            return None
        if len(reps) != len(x) or any(r < 0 for r in reps):
            raise GraphError(f"{node_label(n)}: repeats {reps} must be {len(x)} numbers ≥ 0")
        return [tuple(d * r for d, r in zip(x, reps, strict=True))]

    def rule_ConstantOfShape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                             ) -> list[Dims | None] | None:
        target = self.ints(n, n.inputs[0], "the shape")
        if target is None:
            return None
        if any(d < 0 for d in target):
            raise GraphError(f"{node_label(n)}: shape {target} has a negative size")
        return [tuple(target)]

    def rule_Range(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        v = [self.values(t) for t in n.inputs[:3]]
        if any(x is None or len(x) != 1 for x in v):
            return None
        start, limit, delta = (x[0] for x in v)  # type: ignore[index]
        if all(isinstance(x, int) for x in (start, limit, delta)) and delta:
            return [(max(0, -((start - limit) // delta)),)]
        try:
            count = (limit - start) / delta
            if not math.isfinite(count):
                raise OverflowError
            return [(max(0, math.ceil(count)),)]
        except (ZeroDivisionError, OverflowError, TypeError):
            raise GraphError(f"{node_label(n)}: a range from {start} to {limit} by {delta} has no "
                             "length") from None

    def rule_SpaceToDepth(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                          ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        b = at.integer("blocksize")
        if b is None or b < 1 or len(x) != 4 or x[2] % b or x[3] % b:
            raise GraphError(f"{node_label(n)}: blocksize {b} does not divide {dims_text(x)}")
        return [(x[0], x[1] * b * b, x[2] // b, x[3] // b)]

    def rule_DepthToSpace(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                          ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        b = at.integer("blocksize")
        if b is None or b < 1 or len(x) != 4 or x[1] % (b * b):
            raise GraphError(f"{node_label(n)}: blocksize {b} does not divide {dims_text(x)}")
        return [(x[0], x[1] // (b * b), x[2] * b, x[3] * b)]
