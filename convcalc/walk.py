"""Threading shapes and exact receptive fields through a network tree, one row per layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from convcalc.engine import run_layer
from convcalc.errors import ShapeError
from convcalc.network import (
    BranchesNode,
    LayerNode,
    Node,
    ResidualNode,
    SeqNode,
    SplitNode,
)
from convcalc.report import NetRow
from convcalc.rf import RFState, advance_state, merge_states
from convcalc.shapes import Shape

# --- networks --------------------------------------------------------------------------------

@dataclass
class Walk:
    """Threads shape and receptive-field state through a network tree, collecting rows."""

    rows: list[NetRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def node(self, node: Node, shape: Shape, state: RFState) -> tuple[Shape, RFState]:
        if isinstance(node, LayerNode):
            report = run_layer(node.spec, shape, node.where, node.path)
            # a composite's own paths (octave's high and low routes) differ by design
            state, _ = advance_state(state, report.rf_paths)
            self.rows.append(NetRow(node.path or node.spec.kind_name, report, state, node.spec))
            return report.output, state
        if isinstance(node, SeqNode):
            for child in node.children:
                shape, state = self.node(child, shape, state)
            return shape, state
        if isinstance(node, ResidualNode):
            out, body_state = self.node(node.body, shape, state)
            if node.shortcut is None:
                short, short_state = shape, state
            elif node.shortcut == "auto":
                short, short_state = self.auto_shortcut(node, shape, out, state, body_state)
            else:
                short, short_state = self.node(node.shortcut, shape, state)
            if short != out:
                raise ShapeError(f"residual add needs equal shapes: body gives "
                                 f"{out.channels_last()}, shortcut gives {short.channels_last()}"
                                 f" (use 'shortcut: auto' or a projection)", node.where)
            return out, self.merge(node.path, [body_state, short_state])
        if isinstance(node, BranchesNode):
            results = [self.node(p, shape, state) for p in node.paths]
            return self.join(node, [r[0] for r in results], node.merge), self.merge(
                node.path, [r[1] for r in results])
        return self.split(node, shape, state)

    def split(self, node: SplitNode, shape: Shape, state: RFState) -> tuple[Shape, RFState]:
        n = len(node.paths)
        sizes = node.sizes or ((shape.channels // n,) * n if shape.channels % n == 0 else None)
        if sizes is None or sum(sizes) != shape.channels:
            raise ShapeError(f"split: {shape.channels} channels cannot be split "
                             f"{'into ' + '+'.join(map(str, sizes)) if sizes else f'{n} ways'}",
                             node.where)
        results = [self.node(p, shape.with_channels(c), state)
                   for p, c in zip(node.paths, sizes, strict=True)]
        return self.join(node, [r[0] for r in results], "concat"), self.merge(
            node.path, [r[1] for r in results])

    def auto_shortcut(self, node: ResidualNode, shape: Shape, out: Shape, state: RFState,
                      body_state: RFState) -> tuple[Shape, RFState]:
        """Identity where the body keeps the shape, else 1×1 conv + BN (torchvision's
        `downsample`). Its stride is the body's effective stride (the ratio of the receptive-field
        jumps), which stays right where shapes alone are ambiguous (1×1 maps)."""
        if out == shape:
            return shape, state
        strides = []
        for axis, (a, b) in enumerate(zip(shape.spatial, out.spatial, strict=True)):
            ratio = body_state[axis].jump / state[axis].jump if state else None
            stride = int(ratio) if ratio is not None and ratio.denominator == 1 else -(-a // b)
            if (a - 1) // stride + 1 != b:
                raise ShapeError(f"shortcut: auto cannot project {shape.channels_last()} to "
                                 f"{out.channels_last()} with a strided 1×1 conv", node.where)
            strides.append(stride)
        from convcalc.layers.conv import Conv
        from convcalc.layers.simple import BatchNorm

        where = node.where
        conv = Conv(out=out.channels, kernel=1, stride=strides, bias=node.auto_bias)
        base = node.shortcut_path
        short, state = self.node(LayerNode(conv, f"{base}.0", where), shape, state)
        return self.node(LayerNode(BatchNorm(), f"{base}.1", where), short, state)

    def join(self, node: BranchesNode | SplitNode, shapes: list[Shape], merge: str) -> Shape:
        first = shapes[0]
        if any(s.spatial != first.spatial for s in shapes):
            sizes = ", ".join(s.channels_last() for s in shapes)
            raise ShapeError(f"{merge} needs equal spatial sizes, paths give {sizes}",
                             node.where)
        if merge == "add":
            if any(s != first for s in shapes):
                raise ShapeError("add needs equal shapes, paths give "
                                 f"{', '.join(s.channels_last() for s in shapes)}", node.where)
            return first
        return Shape(sum(s.channels for s in shapes), first.spatial)

    def merge(self, path: str, states: list[RFState]) -> RFState:
        merged, problem = merge_states(states)
        if problem:
            self.warnings.append(f"{path or 'network'}: merged paths are misaligned: {problem}")
        return merged


