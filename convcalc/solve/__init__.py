"""`convcalc solve`: the inverse questions, answered by enumerating the forward formulas.

Three questions, one mechanism (per-axis enumeration over PyTorch's size rules in `formulas`):

- **size**: given the input, the output size wanted per axis and any fields fixed, every valid
  completion of the unknown fields (kernel, stride, dilation, padding, output_padding) within
  the search bounds. Axes are independent: each is solved alone, then the axes are combined.
- **budget**: the largest `out` whose MACs and/or params stay within a limit, counted by
  `analyze_layer` (the project's own counts).
- **chain**: the shortest chains of layers of one kind (fixed kernel and padding, strides from a
  set) that take one size to another.

Search bounds (unknown fields only; a fixed field is taken as given):
kernel 1..11, stride 1..8, dilation 1..4 (`Bounds`; a 1-wide kernel only with dilation 1,
which it ignores, except for the dilated kind); padding 0..D·(K−1) for conv and transposed
conv (more padding only adds windows that see nothing but padding; for a transposed conv it
would mean negative padding in its equivalent conv), 0..K//2 for pooling (PyTorch's limit);
output_padding 0..max(S, D)−1 (PyTorch's limit).

Order: completions that use the same values on every axis first, then the rest; within each,
the smallest sum of field values first, ties by kernel, stride, dilation, padding,
output_padding (per axis, first axis first).

Only the listed answers are built as layers (`analyze_layer`), so every answer is checked by the
same code that `convcalc layer` runs.

The package keeps one module per concern: `size_rules` (the formulas per family and the
bounds), `request` (parsing and checking), `axis_search` (per-axis enumeration), `same_valid`
(TensorFlow's SAME and VALID), `size_search`, `budget_search`, `chain_search` (the three
questions) and `results` (what they answer).
"""

from __future__ import annotations

from convcalc.solve.budget_search import budget
from convcalc.solve.chain_search import chain
from convcalc.solve.request import given, kind_fields, parse_count, parse_size
from convcalc.solve.results import Solution, Solved, formula_text, spec_value
from convcalc.solve.size_rules import (
    DEFAULT_LIMIT,
    MAX_BOUND,
    MAX_CANDIDATES,
    MAX_LAYERS,
    NEAREST_PER_SIZE,
    NEAREST_SIZES,
    SIZE_FIELDS,
    Bounds,
)
from convcalc.solve.size_search import solve

__all__ = ["DEFAULT_LIMIT", "MAX_BOUND", "MAX_CANDIDATES", "MAX_LAYERS", "NEAREST_PER_SIZE",
           "NEAREST_SIZES", "SIZE_FIELDS", "Bounds", "Solution", "Solved", "budget", "chain",
           "formula_text", "given", "kind_fields", "parse_count", "parse_size", "solve",
           "spec_value"]
