"""Exact receptive fields, per spatial axis, through strided, dilated and transposed layers.

Distill's recurrences (Araujo et al. 2019: size += (K_eff − 1)·jump, jump *= S) are exact for
conv and pooling stacks. After a transposed conv or an upsample, which input units an output unit
sees depends on its phase (position mod the period), and the plain recurrence over- or
under-counts. This module keeps, for one period of output positions, the exact interval
[lo, hi] of input positions each one sees (dilation holes spanned, input borders ignored):

    lo(q·P + r) = q·A + lo[r],  hi(q·P + r) = q·A + hi[r]      (jump = A / P)

A layer is described by a `TapMap`: output y = q·n + r reads inputs x = q·m + c for c in
taps[r]. Composing a state with a tap map gives the next state exactly; the reported size is the
maximum of hi − lo + 1 over the phases, which equals the support of a PyTorch gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd, lcm

from convcalc.errors import Location, ShapeError
from convcalc.frozen import fast_init
from convcalc.limits import MAX_PERIOD, MAX_RF_WORK


@fast_init
@dataclass(frozen=True, slots=True)
class Progression:
    """Offsets first, first + step, ..., `count` of them (step > 0 unless count == 1)."""

    first: int
    step: int
    count: int


def check_phases(n: int, what: str, field: str | None = None) -> int:
    """Refuse a tap map with more phases than can be tracked, before building it."""
    if n > MAX_PERIOD:
        raise ShapeError(f"{what} of {n:,} is more than the {MAX_PERIOD:,} phases the exact "
                         "receptive field can track", Location(field=field))
    return n


@fast_init
@dataclass(frozen=True, slots=True)
class TapMap:
    """Output y = q·n + r reads inputs x = q·m + c for every c in taps[r] (one axis of one layer)."""

    m: int
    n: int
    taps: tuple[tuple[Progression, ...], ...]
    reduces: bool = False
    """The layer reduces the axis by windows (global, adaptive pooling, a linear layer): its
    outputs are not a strided sampling of the input, so no strided conv can stand in for it."""

    @staticmethod
    def forward(kernel: int, stride: int, pad_left: int, dilation: int) -> TapMap:
        """Conv or pool: output y reads y·S − P_l + j·D for j in 0..K−1."""
        return TapMap(stride, 1, ((Progression(-pad_left, dilation, kernel),),))

    @staticmethod
    def identity() -> TapMap:
        return TapMap(1, 1, ((Progression(0, 1, 1),),))

    @staticmethod
    def transposed(kernel: int, stride: int, padding: int, dilation: int) -> TapMap:
        """Transposed conv: output y = x·S − P + j·D, so phase r reads x with S | (r + P − j·D)."""
        phases: list[tuple[Progression, ...]] = []
        check_phases(stride, "a transposed stride", "stride")
        g = gcd(dilation, stride)
        s_red, d_red = stride // g, dilation // g
        for r in range(stride):
            if (r + padding) % g:
                phases.append(())
                continue
            j0 = ((r + padding) // g * pow(d_red, -1, s_red)) % s_red if s_red > 1 else 0
            if j0 > kernel - 1:
                phases.append(())
                continue
            count = (kernel - 1 - j0) // s_red + 1
            j_last = j0 + (count - 1) * s_red
            first = (r + padding - j_last * dilation) // stride
            phases.append((Progression(first, d_red, count),))
        return TapMap(1, stride, tuple(phases))

    @staticmethod
    def nearest(scale: int) -> TapMap:
        """Nearest upsampling by an integer scale: output y reads ⌊y / s⌋."""
        check_phases(scale, "an upsampling scale")
        return TapMap(1, scale, ((Progression(0, 1, 1),),) * scale)

    @staticmethod
    def bilinear(scale: int, taps: Sequence[tuple[int, int]]) -> TapMap:
        """Linear interpolation: phase r reads taps[r] = (first, count) neighbouring pixels."""
        check_phases(scale, "an upsampling scale")
        return TapMap(1, scale, tuple((Progression(lo, 1, n),) for lo, n in taps))

    @staticmethod
    def bins(length: int, windows: Sequence[tuple[int, int]]) -> TapMap:
        """Adaptive or global pooling: output i reads [start_i, end_i) of an input of `length`."""
        return TapMap(length, len(windows),
                      tuple((Progression(a, 1, b - a),) for a, b in windows), reduces=True)

    @staticmethod
    def whole(length: int) -> TapMap:
        """Broadcast: every output reads all `length` inputs (a gate pooled over the axis and
        multiplied into every position, squeeze-and-excitation). The state after it has jump 0."""
        return TapMap(0, 1, ((Progression(0, 1, length),),), reduces=True)


@fast_init
@dataclass(frozen=True, slots=True)
class AxisRF:
    """Receptive field of every position of a feature map along one axis, in input coordinates."""

    period: int
    advance: int
    lo: tuple[int | None, ...]
    hi: tuple[int | None, ...]
    whole: tuple[int, int] | None = None
    """An interval every position sees besides its own (a broadcast gate merged in)."""
    reduced: bool = False
    """Some layer on the way reduced the axis by windows (see TapMap.reduces)."""

    @staticmethod
    def identity() -> AxisRF:
        return AxisRF(1, 1, (0,), (0,))

    @property
    def is_global(self) -> bool:
        """Every position sees the same interval (jump 0: the state right after a broadcast)."""
        return self.advance == 0

    @property
    def jump(self) -> Fraction:
        """Distance in input units between neighbouring outputs (the effective stride)."""
        return Fraction(self.advance, self.period)

    @property
    def size(self) -> int:
        """Largest number of input positions one output position spans (0 if it sees nothing).

        With a broadcast gate merged in, every position's field is the gate's interval: its
        span (see `interval`)."""
        if self.whole is not None:
            return self.whole[1] - self.whole[0] + 1
        spans = [h - lo + 1 for lo, h in zip(self.lo, self.hi, strict=True)
                 if lo is not None and h is not None]
        return max(spans, default=0)

    @property
    def start(self) -> Fraction | None:
        """Centre of output unit 0's field (the first unit that sees anything), input pixel units."""
        for position in range(self.period):
            interval = self.interval(position)
            if interval is not None:
                return Fraction(interval[0] + interval[1], 2)
        return None if self.whole is None else Fraction(sum(self.whole), 2)

    def interval(self, position: int) -> tuple[int, int] | None:
        """[lo, hi] of the input positions output `position` sees (None if it sees nothing).

        With a broadcast gate merged in, the gate's interval: it is the hull of the fields of
        every position of the map the gate pooled, so the real positions any later unit reads
        see inside it, and what a position's own field reaches beyond it is padding (a padded
        dilated conv after a squeeze-excitation sees the image, centred on the image's centre,
        not on its own padded window)."""
        if self.whole is not None:
            return self.whole
        lo, hi = self._at(position, self.lo), self._at(position, self.hi)
        return None if lo is None or hi is None else (lo, hi)

    def _at(self, x: int, table: tuple[int | None, ...]) -> int | None:
        q, r = divmod(x, self.period)
        v = table[r]
        return None if v is None else q * self.advance + v

    def _extreme(self, base: int, prog: Progression, lowest: bool) -> int | None:
        """min lo (or max hi) over positions base + i·step, i in 0..count−1.

        Within one residue class mod the period, lo and hi grow with x, so only one period's
        worth of taps at the low (or high) end can hold the extreme.
        """
        reach = self.period // gcd(prog.step, self.period) if prog.step else 1
        n = min(prog.count, reach)
        best: int | None = None
        for i in range(n):
            index = i if lowest else prog.count - 1 - i
            x = base + index * prog.step
            v = self._at(x, self.lo if lowest else self.hi)
            if v is not None and (best is None or (v < best if lowest else v > best)):
                best = v
        return best

    def then(self, tap: TapMap) -> AxisRF:
        """The state after one more layer described by `tap`."""
        if self.period == 1 and tap.n == 1 and len(tap.taps[0]) == 1:
            # the common case (conv and pool after conv and pool): Distill's recurrence.
            # Output 0 reads x = first + i·step, i < count, and lo(x) = x·A + lo[0] grows with x
            lo0, hi0 = self.lo[0], self.hi[0]
            prog = tap.taps[0][0]
            reduced = self.reduced or tap.reduces
            if lo0 is None or hi0 is None or prog.count < 1:
                return AxisRF(1, tap.m * self.advance, (None,), (None,), self.whole, reduced)
            return AxisRF(1, tap.m * self.advance, (prog.first * self.advance + lo0,),
                          ((prog.first + (prog.count - 1) * prog.step) * self.advance + hi0,),
                          self.whole, reduced)
        return self.general_then(tap)

    def general_then(self, tap: TapMap) -> AxisRF:
        """`then` for any period and tap map (one interval per output phase)."""
        g = gcd(tap.m, self.period)
        period = tap.n * self.period // g
        if period > MAX_PERIOD:
            raise ShapeError(
                f"receptive-field period {period:,} exceeds the limit of {MAX_PERIOD:,}: too many "
                "unmatched upsampling strides to track exactly"
            )
        work = period // tap.n * sum(
            min(prog.count, self.period // gcd(prog.step, self.period) if prog.step else 1)
            for phase in tap.taps for prog in phase)
        if work > MAX_RF_WORK:
            raise ShapeError(
                f"the exact receptive field of this layer takes {work:,} steps, more than the "
                f"limit of {MAX_RF_WORK:,} (a large kernel after a large upsampling)")
        advance = tap.m // g * self.advance
        lo: list[int | None] = []
        hi: list[int | None] = []
        # phases with the same taps at the same q see the same interval (nearest upsampling:
        # every phase of a copy): compute each (q, taps) once
        seen: dict[tuple[int, tuple[Progression, ...]], tuple[int | None, int | None]] = {}
        for phase in range(period):
            q, r = divmod(phase, tap.n)
            key = (q, tap.taps[r])
            found = seen.get(key)
            if found is None:
                low: int | None = None
                high: int | None = None
                for prog in tap.taps[r]:
                    base = q * tap.m + prog.first
                    a = self._extreme(base, prog, lowest=True)
                    b = self._extreme(base, prog, lowest=False)
                    if a is not None and (low is None or a < low):
                        low = a
                    if b is not None and (high is None or b > high):
                        high = b
                found = seen[key] = (low, high)
            lo.append(found[0])
            hi.append(found[1])
        return AxisRF(period, advance, tuple(lo), tuple(hi), self.whole,
                      self.reduced or tap.reduces)

    def expanded(self, period: int) -> tuple[list[int | None], list[int | None]]:
        """lo and hi tables re-expressed over a multiple of the period."""
        los = [self._at(x, self.lo) for x in range(period)]
        his = [self._at(x, self.hi) for x in range(period)]
        return los, his


def _pick(a: int | None, b: int | None, lowest: bool) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if lowest else max(a, b)


def _plain_intervals(states: Sequence[AxisRF]) -> list[tuple[int, int]] | None:
    """(lo, hi) of each path when every path has period 1 and the same jump, else None."""
    out: list[tuple[int, int]] = []
    for s in states:
        lo, hi = s.lo[0], s.hi[0]
        if s.period != 1 or s.advance != states[0].advance or lo is None or hi is None:
            return None
        out.append((lo, hi))
    return out


def _hull(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), max(a[1], b[1])


def merge(states: Sequence[AxisRF]) -> tuple[AxisRF, str | None]:
    """Union of parallel paths' fields (add, concat, mul). Returns (state, problem or None).

    A broadcast path (jump 0: a gate every position multiplies by) adds its interval to every
    position's field. Paths whose jumps differ otherwise cannot be merged exactly: the widest
    path is kept and the problem says so. Paths with equal jumps but different centres are
    merged exactly and reported.
    """
    if len(states) == 2:  # a residual add of two one-interval paths (the common case)
        a, b = states
        alo, ahi, blo, bhi = a.lo[0], a.hi[0], b.lo[0], b.hi[0]
        if (a.period == 1 and b.period == 1 and a.advance == b.advance != 0 and a.whole is None
                and b.whole is None and alo is not None and ahi is not None and blo is not None
                and bhi is not None):
            problem = None
            if alo + ahi != blo + bhi:
                shown = " vs ".join(str(Fraction(c, 2)) for c in sorted((alo + ahi, blo + bhi)))
                problem = f"centres differ ({shown} at output 0)"
            return AxisRF(1, a.advance, (min(alo, blo),), (max(ahi, bhi),), None,
                          a.reduced or b.reduced), problem
    whole: tuple[int, int] | None = None
    trunks: list[AxisRF] = []
    for s in states:
        whole = _hull(whole, s.whole)
        if s.is_global and s.whole is not None:
            continue  # its field is its gate's interval (see AxisRF.interval)
        if s.is_global and s.lo[0] is not None and s.hi[0] is not None:
            whole = _hull(whole, (s.lo[0], s.hi[0]))
        else:
            trunks.append(s)
    if not trunks:
        assert whole is not None
        return AxisRF(1, 0, (whole[0],), (whole[1],), None, True), None
    merged, problem = _merge_trunks(trunks)
    if whole is not None:
        merged = AxisRF(merged.period, merged.advance, merged.lo, merged.hi,
                        _hull(merged.whole, whole), merged.reduced)
    return merged, problem


def _merge_trunks(states: Sequence[AxisRF]) -> tuple[AxisRF, str | None]:
    first = states[0]
    reduced = any(s.reduced for s in states)
    if len(states) == 1:
        return first, None
    plain = _plain_intervals(states)
    if plain is not None:
        # the common case (conv and pool paths): one interval per path
        centres = sorted({lo + hi for lo, hi in plain})
        problem = None
        if len(centres) > 1:
            shown = " vs ".join(str(Fraction(c, 2)) for c in centres)
            problem = f"centres differ ({shown} at output 0)"
        return AxisRF(1, first.advance, (min(lo for lo, _ in plain),),
                      (max(hi for _, hi in plain),), None, reduced), problem
    jumps = sorted({s.jump for s in states})
    if len(jumps) > 1:
        shown = " vs ".join(str(j) for j in jumps)
        return max(states, key=lambda s: s.size), f"jumps differ ({shown}); widest path shown"
    period = 1
    for s in states:
        period = lcm(period, s.period)
        if period > MAX_PERIOD:
            raise ShapeError(f"merged paths' receptive-field period exceeds the limit of "
                             f"{MAX_PERIOD:,} (their upsampling strides do not match)")
    advance = first.jump * period
    lo: list[int | None] = [None] * period
    hi: list[int | None] = [None] * period
    tables = [s.expanded(period) for s in states]
    for los, his in tables:
        lo = [_pick(a, b, True) for a, b in zip(lo, los, strict=True)]
        hi = [_pick(a, b, False) for a, b in zip(hi, his, strict=True)]
    starts = sorted({s.start for s in states if s.start is not None})
    problem = None
    # a windowed path (attention within windows or a grid) whose field holds every other's at
    # every position, beside its residual identity, is not a misalignment: the merged field is
    # that path's (a U-Net's upsampled path holding its skip's is, and is still reported)
    nested = any(states[i].reduced and all(
        a is not None and b is not None and x is not None and y is not None and a <= x
        and y <= b for x, y, a, b in zip(lo, hi, *tables[i], strict=True))
        for i in range(len(tables)))
    if len(starts) > 1 and not nested:
        problem = "centres differ (" + " vs ".join(str(x) for x in starts) + " at output 0)"
    return AxisRF(period, int(advance), tuple(lo), tuple(hi), None, reduced), problem


RFState = tuple[AxisRF, ...]
Path = tuple[tuple[TapMap, ...], ...]
"""A sequence of steps; each step has one TapMap per spatial axis (fewer axes = unchanged)."""


def advance_state(state: RFState, paths: Sequence[Path]) -> tuple[RFState, str | None]:
    """Thread a state through a layer given as parallel paths of steps; merge the paths.

    No paths at all means the layer is pointwise in space (activations, BN, shuffle).
    """
    if not paths:
        return state, None
    results: list[RFState] = []
    for path in paths:
        current = state
        for step in path:
            if len(step) == len(current):
                current = tuple(a.then(t) for a, t in zip(current, step, strict=True))
            elif step and all(t.m == 0 and t.reduces for t in step):
                # a broadcast over a token sequence whose positions are not on the input's
                # axes (after to_tokens): every position of the map the tokens came from,
                # one phase each (see layers.tokens), is read
                current = tuple(a.then(TapMap.whole(a.period)) for a in current)
        results.append(current)
    if len(results) == 1:
        return results[0], None
    return merge_states(results)


def merge_states(states: Sequence[RFState]) -> tuple[RFState, str | None]:
    """Merge several full states axis by axis; the first axis problem, if any, is returned."""
    problems: list[str] = []
    merged: list[AxisRF] = []
    for axis in range(len(states[0])):
        m, problem = merge([s[axis] for s in states])
        merged.append(m)
        if problem and problem not in problems:
            problems.append(problem)
    return tuple(merged), "; ".join(problems) or None
