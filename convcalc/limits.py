"""Every limit on untrusted input, in one place, each checked before the work it bounds.

The README's "Bad input and limits" section lists these numbers; a test keeps the two in step.
"""

from __future__ import annotations

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Bytes read from a spec file, a stream or a device (reading stops one byte past it)."""

MAX_YAML_DEPTH = 64
"""Nesting of YAML collections (mappings and lists)."""

MAX_EXPANDED_NODES = 2_000_000
"""YAML nodes once every alias is expanded (alias bombs)."""

MAX_LAYERS = 100_000
"""Layers a network expands to, counted from the spec's structure before anything is built.
Measured (2 shared cores, CPU time): 50,000 relu layers take 2.7 s and 79 MB to analyse, and
5.3 s and 216 MB through `convcalc net` with its table; 100,000 (the limit: the benchmark's
largest networks) about twice that, 300,000 took 43 s and 1.1 GB. The largest torchvision CNN
has under 1,000 layers."""

MAX_NESTING = 100
"""Blocks inside blocks (named blocks, residuals, branches, repeats), through every block use."""

MAX_INT_DIGITS = 19
"""Digits of an integer written in a spec, an option or a shape (PyTorch sizes are int64)."""

MAX_INT = 2**63 - 1
"""The largest size, count or field value (PyTorch's int64)."""

MAX_VALUE_DIGITS = 100
"""Digits of any integer (or of a fraction's numerator or denominator) computed in ``${…}``."""

MAX_EXPR_CHARS = 500
"""Characters of one ``${…}`` expression."""

MAX_EXPR_DEPTH = 40
"""Nesting of one expression's syntax tree (operators inside operators)."""

MAX_DECIMAL_CHARS = 40
"""Characters of a decimal number written as text (``0.75``, ``1/8``, ``1e-3``)."""

MAX_NAME_CHARS = 200
"""Characters of a layer or block name."""

MAX_PERIOD = 1 << 16
"""Output phases the exact receptive field tracks (after transposed convs and upsampling)."""

MAX_RF_WORK = 1 << 22
"""Phase × tap steps of one receptive-field step (a huge upsample then a huge kernel)."""

MAX_ERRORS = 50
"""Distinct errors printed for one spec (the rest are counted)."""
