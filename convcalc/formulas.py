"""Pure integer formulas. Each docstring gives the equation and where it comes from.

Nothing here knows about layer kinds, specs or display: ints in, ints out.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import floor, prod


def effective_kernel(kernel: int, dilation: int) -> int:
    """K_eff = D·(K − 1) + 1: the span a dilated kernel covers (Yu & Koltun 2016; PyTorch Conv docs)."""
    return dilation * (kernel - 1) + 1


def conv_output_length(length: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                       dilation: int) -> int:
    """L_out = ⌊(L_in + P_l + P_r − D·(K − 1) − 1) / S⌋ + 1 (PyTorch Conv1d/2d/3d docs).

    With symmetric padding this is the documents' ⌊(W − K + 2P)/S⌋ + 1 with K replaced by K_eff.
    May return ≤ 0: the caller decides that the layer does not fit.
    """
    return (length + pad_left + pad_right - dilation * (kernel - 1) - 1) // stride + 1


def transposed_output_length(length: int, kernel: int, stride: int, padding: int, dilation: int,
                             output_padding: int) -> int:
    """L_out = (L_in − 1)·S − 2P + D·(K − 1) + output_padding + 1 (PyTorch ConvTranspose docs)."""
    return (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_length(length: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                       dilation: int, ceil_mode: bool) -> int:
    """PyTorch's `pooling_output_shape_pad_lr`.

    L_out = ⌊(L_in + P_l + P_r − D·(K − 1) − 1 + (S − 1 if ceil_mode)) / S⌋ + 1, and in ceil mode
    one less when the last window would start past the input and its left padding:
    (L_out − 1)·S ≥ L_in + P_l.
    """
    out = (length + pad_left + pad_right - dilation * (kernel - 1) - 1
           + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= length + pad_left:
        out -= 1
    return out


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """PyTorch's padding='same' (stride 1): total D·(K − 1), the odd pixel on the right/bottom."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def adaptive_bins(length: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows: [⌊i·L/O⌋, ⌈(i+1)·L/O⌉) for i in 0..O−1."""
    return [(i * length // out, -(-(i + 1) * length // out)) for i in range(out)]


def conv_weight_params(in_channels: int, out_channels: int, groups: int,
                       kernel: Sequence[int]) -> int:
    """C_out · (C_in / G) · ∏K: a standard conv's weights (the documents' K·K·C_in·C_out at G = 1)."""
    return out_channels * (in_channels // groups) * prod(kernel)


def conv_macs(in_channels: int, out_channels: int, groups: int, kernel: Sequence[int],
              out_spatial: Sequence[int]) -> int:
    """C_out · (C_in / G) · ∏K · ∏out_spatial (the documents' K·K·C_in·C_out·H_out·W_out at G = 1).

    Same as fvcore's `conv_flop_count` and PyTorch FlopCounterMode (FLOPs / 2); bias not included.
    """
    return conv_weight_params(in_channels, out_channels, groups, kernel) * prod(out_spatial)


def transposed_weight_params(in_channels: int, out_channels: int, groups: int,
                             kernel: Sequence[int]) -> int:
    """C_in · (C_out / G) · ∏K: ConvTranspose's weight has shape (C_in, C_out/G, *K)."""
    return in_channels * (out_channels // groups) * prod(kernel)


def transposed_macs(in_channels: int, out_channels: int, groups: int, kernel: Sequence[int],
                    in_spatial: Sequence[int]) -> int:
    """C_in · (C_out / G) · ∏K · ∏in_spatial: every input value meets every weight of its group once.

    Counted from the input side, as PyTorch FlopCounterMode and fvcore do; counting over the
    output (as some tools do) overstates it by up to ∏stride.
    """
    return transposed_weight_params(in_channels, out_channels, groups, kernel) * prod(in_spatial)


def linear_macs(in_features: int, out_features: int) -> int:
    """in · out multiply-accumulates for one sample (FlopCounterMode counts addmm as 2·in·out)."""
    return in_features * out_features


def octave_split(channels: int, alpha: Fraction) -> tuple[int, int]:
    """(high, low) channel counts: low = ⌊α·C⌋ as in Chen et al.'s reference OctConv."""
    low = floor(alpha * channels)
    return channels - low, low


def octave_macs_ratio(alpha: Fraction) -> Fraction:
    """1 − ¾·α·(2 − α): octave conv's MACs over the plain conv's at α_in = α_out = α (Chen et al. 2019)."""
    return 1 - Fraction(3, 4) * alpha * (2 - alpha)


def dwsep_macs_ratio(out_channels: int, kernel: Sequence[int]) -> Fraction:
    """1/N + 1/∏K: depthwise-separable over standard conv MACs (Howard et al. 2017, MobileNet §3.1)."""
    return Fraction(1, out_channels) + Fraction(1, prod(kernel))


def spatial_sep_macs_ratio(kernel: int) -> Fraction:
    """2/K: K×1 then 1×K over K×K, for large inputs and equal channels."""
    return Fraction(2, kernel)


def percent(part: int, whole: int) -> Fraction:
    """part / whole as an exact fraction of 100 (0 when whole is 0)."""
    return Fraction(100 * part, whole) if whole else Fraction(0)


def bilinear_taps(scale: int, phase: int) -> tuple[int, int]:
    """(first offset, count) of the source pixels an output pixel at `phase` reads with a weight
    > 0 (align_corners=False): source coordinate (y + ½)/s − ½, its floor and, unless it falls
    exactly on a pixel, the next one (PyTorch's upsample_bilinear)."""
    source = Fraction(2 * phase + 1 - scale, 2 * scale)
    low = floor(source)
    return low, 1 if source == low else 2


def floor_loss(length: int, kernel: int, stride: int, pad_left: int, pad_right: int,
               dilation: int, ceil_mode: bool = False) -> int:
    """Input pixels (not padding) that ⌊·⌋ drops: past the last window, where the next window
    (the one ⌈·⌉ would add) would have read them.

    The last of the L_out windows ends at padded index (L_out − 1)·S + K_eff − 1 and the next
    would start at L_out·S; the input occupies padded indices P_l .. P_l + L_in − 1, so the
    input pixels from max(last end + 1, L_out·S) on are lost:
    min(L_in, max(0, P_l + L_in − (L_out − 1)·S − K_eff − max(0, S − K_eff))). With symmetric
    padding and K_eff ≥ S that is the remainder (L_in + 2P − K_eff) mod S less the right padding.
    Pixels skipped between windows (K_eff < S: a 1×1 stride-2 shortcut reads every other pixel)
    are not lost to ⌊·⌋, and neither is the gap after the last window. L_out is PyTorch's (conv,
    or pooling with `ceil_mode`); the caller makes sure it is ≥ 1.
    """
    out = pool_output_length(length, kernel, stride, pad_left, pad_right, dilation, ceil_mode)
    span = effective_kernel(kernel, dilation)
    past = pad_left + length - (out - 1) * stride - span - max(0, stride - span)
    return min(length, max(0, past))
