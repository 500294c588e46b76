"""Device presets: peak dense multiply-accumulates per second per dtype, and memory bandwidth.

Every number is data with its source. Conventions:

- A peak is stored as **MAC/s** (multiply-accumulates per second), exact. Vendors quote FLOPS
  (or TOPS for integers) = 2 × MAC/s; `Peak.flops` gives that back.
- Peaks are **dense**. NVIDIA quotes tensor-core figures "with sparsity" (2:4 structured
  sparsity), twice the dense rate; where a vendor quotes that figure it is kept in
  `Peak.sparse_macs_per_s` (so a test can check dense ≤ sparse) and never used.
- `Peak.unit` says which execution units the number is for (CUDA cores, tensor cores and their
  accumulator width, the CPU's SIMD pipes).
- fp32 is IEEE fp32 on the non-tensor units. NVIDIA's TF32 tensor-core mode (which cuDNN uses
  for fp32 convolutions by default in PyTorch on Ampere and later) is faster; it is noted in the
  comments, not modelled as fp32.
- Where a vendor gives no number (phone and board CPUs, Apple's GPU) the peak is derived from
  documented microarchitecture facts, cores × clock × FMA lanes per cycle, with the derivation in
  the comment. Such a derived peak is a ceiling (boost clocks, every pipe busy), which keeps the
  roofline a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from convcalc.errors import SpecError
from convcalc.spec import suggest

DTYPES = ("fp32", "fp16", "bf16", "int8")
"""The dtypes a preset may support (roofline.DTYPE_BYTES gives their sizes)."""

TERA = 10**12
GIGA = 10**9


@dataclass(frozen=True, slots=True)
class Peak:
    """A dense peak for one dtype, in MAC/s, on the named execution units."""

    dtype: str
    macs_per_s: Fraction
    unit: str
    sparse_macs_per_s: Fraction | None = None
    """The vendor's 2:4-sparsity figure in MAC/s, where one is quoted (never used for bounds)."""

    @property
    def flops(self) -> Fraction:
        """FLOPS (or OPS for int8) = 2 × MAC/s: one multiply and one add per MAC."""
        return 2 * self.macs_per_s


@dataclass(frozen=True, slots=True)
class Device:
    """One device: its key, display name, dense peaks per dtype, memory bandwidth and sources."""

    key: str
    name: str
    peaks: tuple[Peak, ...]
    bandwidth: Fraction
    """Memory bandwidth in bytes/s (the DRAM/HBM roof)."""
    source: str
    memory: int | None = None
    """Device memory in bytes: the vendor's GB read as 10⁹ bytes (a floor: an A100 80GB has
    80 GiB = 85.9 × 10⁹ bytes, of which the CUDA context and the allocator's reserve take
    some). None where it depends on the configuration bought (Apple M2, Raspberry Pi 5, phones)."""

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(p.dtype for p in self.peaks)

    def peak(self, dtype: str) -> Peak:
        """The dense peak for `dtype`; a SpecError names the dtypes this device has."""
        for p in self.peaks:
            if p.dtype == dtype:
                return p
        if dtype not in DTYPES:
            raise SpecError(f"--dtype: unknown dtype '{dtype}'{suggest(dtype, list(DTYPES))}; "
                            f"one of: {', '.join(DTYPES)}")
        raise SpecError(f"--dtype: {self.key} has no {dtype} peak; it has: "
                        f"{', '.join(self.dtypes)}")

    def ridge(self, dtype: str) -> Fraction:
        """The ridge point in MAC per byte: peak / bandwidth. Below it a layer is memory-bound."""
        return self.peak(dtype).macs_per_s / self.bandwidth


def _ops(text: str) -> Fraction:
    """A vendor's TFLOPS or TOPS figure (decimal text, 2 operations per MAC) as MAC/s."""
    return Fraction(text) * TERA / 2


def _peak(dtype: str, tflops: str, unit: str, sparse_tflops: str | None = None) -> Peak:
    return Peak(dtype, _ops(tflops), unit, None if sparse_tflops is None else _ops(sparse_tflops))


def _derived(dtype: str, macs_per_s: int, unit: str) -> Peak:
    return Peak(dtype, Fraction(macs_per_s), unit)


def _gbs(text: str) -> Fraction:
    """Gigabytes per second (10⁹ B/s) as bytes/s."""
    return Fraction(text) * GIGA


_TC32 = "tensor cores, FP32 accumulate"

# NVIDIA H100 SXM5 80 GB. Source: NVIDIA H100 Tensor Core GPU datasheet, "Technical
# Specifications" table, H100 SXM column: FP32 67 TFLOPS; BF16 and FP16 Tensor Core 1,979
# TFLOPS*; INT8 Tensor Core 3,958 TOPS*; GPU memory bandwidth 3.35 TB/s. Footnote "* With
# sparsity", so dense = half: 989.5 TFLOPS and 1,979 TOPS. (TF32 Tensor Core: 989* → 494.5
# dense, not modelled as fp32.)
H100_SXM = Device(
    key="h100-sxm",
    name="NVIDIA H100 SXM5 80GB",
    peaks=(
        _peak("fp32", "67", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "989.5", _TC32, sparse_tflops="1979"),
        _peak("bf16", "989.5", _TC32, sparse_tflops="1979"),
        _peak("int8", "1979", "tensor cores, INT32 accumulate", sparse_tflops="3958"),
    ),
    bandwidth=_gbs("3350"),
    source="NVIDIA H100 Tensor Core GPU datasheet, Technical Specifications table, H100 SXM "
           "column (* = with sparsity; dense is half) — "
           "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",
    memory=80 * GIGA,  # datasheet: GPU memory 80GB
)

# NVIDIA A100 SXM4 80 GB. Source: NVIDIA A100 Tensor Core GPU datasheet (1758950-r4),
# "Specifications" table, A100 80GB SXM column: FP32 19.5 TFLOPS; BF16 and FP16 Tensor Core
# 312 | 624* TFLOPS; INT8 Tensor Core 624 | 1,248* TOPS; GPU memory bandwidth 2,039 GB/s.
# (TF32 Tensor Core 156 | 312*, not modelled as fp32.)
A100_80GB = Device(
    key="a100-80gb",
    name="NVIDIA A100 SXM4 80GB",
    peaks=(
        _peak("fp32", "19.5", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "312", _TC32, sparse_tflops="624"),
        _peak("bf16", "312", _TC32, sparse_tflops="624"),
        _peak("int8", "624", "tensor cores, INT32 accumulate", sparse_tflops="1248"),
    ),
    bandwidth=_gbs("2039"),
    source="NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4), "
           "Specifications table, A100 80GB SXM column — https://www.nvidia.com/content/"
           "dam/en-zz/Solutions/Data-Center/a100/pdf/"
           "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    memory=80 * GIGA,  # datasheet: GPU memory 80GB HBM2e
)

# NVIDIA L4 (AD104, 72 W). Source: NVIDIA L4 Tensor Core GPU datasheet, "Specifications" table:
# FP32 30.3 TFLOPS; FP16 and BF16 Tensor Core 242 TFLOPS*; INT8 Tensor Core 485 TOPS*; GPU
# memory bandwidth 300 GB/s; "* Shown with sparsity", so dense = 121 TFLOPS and 242.5 TOPS.
# (TF32 Tensor Core 120* → 60 dense, not modelled as fp32.)
L4 = Device(
    key="l4",
    name="NVIDIA L4",
    peaks=(
        _peak("fp32", "30.3", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "121", _TC32, sparse_tflops="242"),
        _peak("bf16", "121", _TC32, sparse_tflops="242"),
        _peak("int8", "242.5", "tensor cores, INT32 accumulate", sparse_tflops="485"),
    ),
    bandwidth=_gbs("300"),
    source="NVIDIA L4 Tensor Core GPU datasheet, Specifications table (* = with sparsity; dense "
           "is half) — https://www.nvidia.com/en-us/data-center/l4/",
    memory=24 * GIGA,  # datasheet: GPU memory 24GB GDDR6
)

# NVIDIA GeForce RTX 4090 (AD102). Source: NVIDIA Ada GPU Architecture whitepaper, the GeForce
# RTX 4090 specification table: Peak FP32 TFLOPS (non-Tensor) 82.6; Peak FP16 Tensor TFLOPS
# with FP16 Accumulate 330.3/660.6; with FP32 Accumulate 165.2/330.4; Peak BF16 Tensor TFLOPS
# with FP32 Accumulate 165.2/330.4; Peak INT8 Tensor TOPS 660.6/1321.2 (dense/sparse); memory
# bandwidth 1008 GB/s (21 Gbps GDDR6X × 384 bit). GeForce cards run FP16 with FP32 accumulate
# at half the FP16-accumulate rate; fp16 here is the faster FP16-accumulate figure, the ceiling.
RTX_4090 = Device(
    key="rtx-4090",
    name="NVIDIA GeForce RTX 4090",
    peaks=(
        _peak("fp32", "82.6", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "330.3", "tensor cores, FP16 accumulate (FP32 accumulate: half)",
              sparse_tflops="660.6"),
        _peak("bf16", "165.2", _TC32, sparse_tflops="330.4"),
        _peak("int8", "660.6", "tensor cores, INT32 accumulate", sparse_tflops="1321.2"),
    ),
    bandwidth=_gbs("1008"),
    source="NVIDIA Ada GPU Architecture whitepaper, GeForce RTX 4090 specification table "
           "(dense/sparse columns) — https://images.nvidia.com/aem-dam/Solutions/geforce/ada/"
           "nvidia-ada-gpu-architecture.pdf",
    memory=24 * GIGA,  # whitepaper: 24 GB GDDR6X
)

# NVIDIA Jetson Orin Nano 8GB module (original 15 W mode; the later "Super" mode raises clocks).
# Source: NVIDIA Jetson Orin Nano Series data sheet, GPU and memory rows: Ampere GPU with 1024
# CUDA cores and 32 Tensor Cores, maximum operating frequency 625 MHz; "up to 40 (Sparse) INT8
# TOPS and 20 (Dense) INT8 TOPS"; 8 GB 128-bit LPDDR5, 68 GB/s. NVIDIA quotes no FP32/FP16
# figure, so they are derived:
#   fp32 = 1024 CUDA cores × 1 FMA/clk × 625 MHz = 640 G MAC/s (1.28 TFLOPS).
#   Ampere tensor cores of A100 class do 256 FP16 FMA/clk dense (A100: 432 TC × 256 × 1.41 GHz
#   × 2 = 312 TFLOPS) and 512 INT8 MAC/clk; Orin's match: 32 TC × 512 × 625 MHz × 2 × 2
#   (sparsity) = 40.96 sparse TOPS, the data sheet's "40". So
#   fp16 = bf16 = 32 × 256 × 625 MHz = 5.12 T MAC/s; int8 = 32 × 512 × 625 MHz = 10.24 T MAC/s
#   (20.48 dense TOPS; the data sheet rounds to 20).
JETSON_ORIN_NANO = Device(
    key="jetson-orin-nano",
    name="NVIDIA Jetson Orin Nano 8GB (625 MHz GPU)",
    peaks=(
        _derived("fp32", 1024 * 625_000_000, "CUDA cores (FP32 FMA)"),
        _derived("fp16", 32 * 256 * 625_000_000, "tensor cores"),
        _derived("bf16", 32 * 256 * 625_000_000, "tensor cores"),
        Peak("int8", Fraction(32 * 512 * 625_000_000), "tensor cores, INT32 accumulate",
             sparse_macs_per_s=_ops("40")),
    ),
    bandwidth=_gbs("68"),
    source="NVIDIA Jetson Orin Nano Series data sheet, GPU row (1024 CUDA cores, "
           "32 Tensor Cores, 625 MHz, 40 sparse / 20 dense INT8 TOPS) and memory row (128-bit "
           "LPDDR5, 68 GB/s); fp32/fp16 derived from cores × clock × FMA per clock — "
           "https://developer.nvidia.com/embedded/jetson-orin-nano",
    memory=8 * GIGA,  # data sheet: 8GB 128-bit LPDDR5, shared with the CPU
)

# Apple M2, 10-core GPU. Apple's press release gives 100 GB/s of unified memory bandwidth and
# "up to 10-core GPU" but no per-dtype rate. Derived: 10 cores × 128 FP32 ALUs (16 execution
# units × 8) × 1.398 GHz = 1.78944 T FMA/s (3.58 TFLOPS). On Apple GPU family 8 (A15, M2) FP16
# runs at the FP32 rate (philipturner/metal-benchmarks, "Operations per Second", measured).
# The Neural Engine (15.8 TOPS, precision unstated by Apple) is not modelled.
APPLE_M2 = Device(
    key="apple-m2",
    name="Apple M2 (10-core GPU)",
    peaks=(
        _derived("fp32", 10 * 128 * 1_398_000_000, "GPU ALUs (FP32 FMA)"),
        _derived("fp16", 10 * 128 * 1_398_000_000, "GPU ALUs (FP16 FMA, same rate as FP32)"),
    ),
    bandwidth=_gbs("100"),
    source="Apple Newsroom 'Apple unveils M2' (2022-06-06): 100GB/s unified memory bandwidth, "
           "10-core GPU — https://www.apple.com/newsroom/2022/06/apple-unveils-m2-with-"
           "breakthrough-performance-and-capabilities/ ; GPU clock 1398 MHz and 128 ALUs per "
           "core: https://github.com/philipturner/metal-benchmarks",
)

# Raspberry Pi 5: BCM2712, 4 × Arm Cortex-A76 at 2.4 GHz; 32-bit LPDDR4X-4267. No vendor
# FLOPS. Derived from the Cortex-A76 Software Optimization Guide (ASIMD tables): FMLA (Q-form)
# and SDOT issue on both 128-bit pipes V0/V1, throughput 2 per cycle. So per core and cycle
# 2 × 4 = 8 FP32 FMA, 2 × 8 = 16 FP16 FMA (Armv8.2 FP16), 2 × 16 = 32 INT8 MAC (SDOT). A76 has
# no I8MM and no BF16.
#   fp32 = 4 × 2.4 GHz × 8 = 76.8 G MAC/s; fp16 = 153.6 G; int8 = 307.2 G.
#   bandwidth = 4267 MT/s × 32 bit / 8 = 17.068 GB/s.
RPI5_CPU = Device(
    key="rpi5-cpu",
    name="Raspberry Pi 5 CPU (4× Cortex-A76 @ 2.4 GHz)",
    peaks=(
        _derived("fp32", 4 * 2_400_000_000 * 8, "NEON, 2 × 128-bit FMLA pipes per core"),
        _derived("fp16", 4 * 2_400_000_000 * 16, "NEON FP16 FMLA, 2 pipes per core"),
        _derived("int8", 4 * 2_400_000_000 * 32, "NEON SDOT, 2 pipes per core"),
    ),
    bandwidth=Fraction(4267 * 10**6 * 32 // 8),
    source="Raspberry Pi 5 product brief (BCM2712, quad-core Cortex-A76 @ 2.4GHz, LPDDR4X-4267) "
           "and the launch post 'Introducing: Raspberry Pi 5!' (32-bit LPDDR4X at 4267MT/s) — "
           "https://www.raspberrypi.com/news/introducing-raspberry-pi-5/ ; FMA/SDOT throughput: "
           "Arm Cortex-A76 Software Optimization Guide (PJDOC-466751330-7215), ASIMD tables",
)

# Qualcomm Snapdragon 8 Gen 3, CPU only. Qualcomm's product brief: Kryo CPU with 1 prime core
# up to 3.3 GHz (Cortex-X4), 5 performance cores up to 3.2 GHz (Cortex-A720), 2 efficiency
# cores up to 2.3 GHz (Cortex-A520); LPDDR5x up to 4800 MHz. No vendor FLOPS. Derived, with the
# "up to" clocks for every core of a kind (a ceiling):
#   128-bit SIMD pipes issuing FMLA each cycle: X4 4 (V0–V3; Neoverse V3 SOG §3.17, the
#   X4-class core),
#   A720 2, A520 2 (its vector datapath may be shared by a core pair; counting 2 per core keeps
#   the peak a ceiling).
#   fp32 FMA/cycle = 4·pipes: 3.3 GHz × 16 + 5 × 3.2 GHz × 8 + 2 × 2.3 GHz × 8 = 217.6 G MAC/s.
#   fp16 (8 lanes per pipe) = 2 × fp32 = 435.2 G MAC/s.
#   int8: I8MM SMMLA does 32 MACs per 128-bit instruction and issues on every V pipe (Neoverse
#   V3 SOG §3.16); counted at one per pipe per cycle on all three core types, the ceiling
#   (BF16 BFMMLA is not modelled: no bf16 peak):
#   3.3 G × 4 × 32 + 5 × 3.2 G × 2 × 32 + 2 × 2.3 G × 2 × 32 = 1740.8 G MAC/s.
#   bandwidth: 4800 MHz LPDDR5x = 9600 MT/s on a 64-bit (4 × 16-bit) bus = 76.8 GB/s (the bus
#   width is not in Qualcomm's brief; 4 × 16-bit channels as reported for this SoC).
# The Adreno 750 GPU is not a preset: Qualcomm publishes neither its FLOPS nor its ALU count.
_SD8G3_FP32 = 3_300_000_000 * 16 + 5 * 3_200_000_000 * 8 + 2 * 2_300_000_000 * 8
SNAPDRAGON_8G3_CPU = Device(
    key="snapdragon-8g3-cpu",
    name="Qualcomm Snapdragon 8 Gen 3 CPU (1× X4 + 5× A720 + 2× A520)",
    peaks=(
        _derived("fp32", _SD8G3_FP32, "NEON FMLA on all 128-bit pipes"),
        _derived("fp16", 2 * _SD8G3_FP32, "NEON FP16 FMLA on all 128-bit pipes"),
        _derived("int8", 3_300_000_000 * 4 * 32 + 5 * 3_200_000_000 * 2 * 32
                 + 2 * 2_300_000_000 * 2 * 32, "NEON I8MM SMMLA on all 128-bit pipes"),
    ),
    bandwidth=Fraction(9600 * 10**6 * 64 // 8),
    source="Qualcomm Snapdragon 8 Gen 3 Mobile Platform product brief (CPU clocks, LPDDR5x 4800 "
           "MHz) — https://www.qualcomm.com/products/mobile/snapdragon/smartphones/snapdragon-8-"
           "series-mobile-platforms/snapdragon-8-gen-3-mobile-platform ; pipe counts: Arm "
           "Neoverse V3 Software Optimization Guide §3.16–3.17 "
           "(https://developer.arm.com/documentation/109678/300/) and the Cortex-A720/A520 "
           "technical reference manuals",
)

# NVIDIA H200 SXM 141 GB. Source: NVIDIA H200 Tensor Core GPU datasheet / product page,
# specifications table, H200 SXM column: FP32 67 TFLOPS; BF16 and FP16 Tensor Core 1,979
# TFLOPS*; INT8 Tensor Core 3,958 TOPS* (* with sparsity: dense is half); GPU memory 141GB
# HBM3e; memory bandwidth 4.8TB/s. The same GH100 compute as the H100 SXM.
H200_SXM = Device(
    key="h200-sxm",
    name="NVIDIA H200 SXM 141GB",
    peaks=(
        _peak("fp32", "67", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "989.5", _TC32, sparse_tflops="1979"),
        _peak("bf16", "989.5", _TC32, sparse_tflops="1979"),
        _peak("int8", "1979", "tensor cores, INT32 accumulate", sparse_tflops="3958"),
    ),
    bandwidth=_gbs("4800"),
    source="NVIDIA H200 Tensor Core GPU product page and datasheet, specifications table, H200 "
           "SXM column (* = with sparsity; dense is half) — "
           "https://www.nvidia.com/en-us/data-center/h200/",
    memory=141 * GIGA,  # 141GB HBM3e
)

# NVIDIA V100 SXM2 32 GB (Volta). Source: NVIDIA Tesla V100 datasheet, specifications table,
# V100 SXM2 column: single-precision 15.7 TFLOPS; Tensor Performance 125 TFLOPS (FP16 inputs,
# FP32 accumulate; no sparsity on Volta); GPU memory 32 GB HBM2; memory bandwidth 900 GB/s.
# Volta has no bf16, and no int8 tensor cores.
V100_SXM2 = Device(
    key="v100-sxm2",
    name="NVIDIA Tesla V100 SXM2 32GB",
    peaks=(
        _peak("fp32", "15.7", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "125", _TC32),
    ),
    bandwidth=_gbs("900"),
    source="NVIDIA Tesla V100 GPU datasheet, specifications table, V100 SXM2 column — "
           "https://images.nvidia.com/content/technologies/volta/pdf/"
           "volta-v100-datasheet-update-us-1165301-r5.pdf",
    memory=32 * GIGA,  # 32 GB HBM2
)

# NVIDIA T4 (Turing). Source: NVIDIA T4 Tensor Core GPU datasheet, specifications table:
# single precision 8.1 TFLOPS; mixed precision (FP16/FP32) 65 TFLOPS; INT8 130 TOPS; GPU
# memory 16 GB GDDR6; 320+ GB/s (320 GB/s: 256-bit at 10 Gb/s). No bf16 on Turing.
T4 = Device(
    key="t4",
    name="NVIDIA T4",
    peaks=(
        _peak("fp32", "8.1", "CUDA cores (FP32 FMA, non-tensor)"),
        _peak("fp16", "65", _TC32),
        _peak("int8", "130", "tensor cores, INT32 accumulate"),
    ),
    bandwidth=_gbs("320"),
    source="NVIDIA T4 Tensor Core GPU datasheet, specifications table — "
           "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
           "t4-tensor-core-datasheet-951643.pdf",
    memory=16 * GIGA,  # 16 GB GDDR6
)


PRESETS: dict[str, Device] = {d.key: d for d in (
    H100_SXM, A100_80GB, L4, RTX_4090, JETSON_ORIN_NANO, APPLE_M2, RPI5_CPU, SNAPDRAGON_8G3_CPU,
    H200_SXM, V100_SXM2, T4,
)}


NOT_PRESETS: dict[str, str] = {
    "snapdragon-8g3-gpu": "the Snapdragon 8 Gen 3's Adreno 750 GPU",
    "adreno-750": "the Snapdragon 8 Gen 3's Adreno 750 GPU",
    "snapdragon-8g3-npu": "the Snapdragon 8 Gen 3's Hexagon NPU",
    "hexagon": "the Snapdragon 8 Gen 3's Hexagon NPU",
    "apple-m2-ane": "the Apple M2's Neural Engine",
    "apple-m2-npu": "the Apple M2's Neural Engine",
}
"""Devices asked for that are deliberately not presets: their vendors publish no per-dtype
rate, nor the unit counts to derive one, and a guessed peak could put the bound above the truth."""


def get_device(name: str) -> Device:
    """The preset called `name` (case and `_`/`-` do not matter), or the one preset whose name
    begins with it (`h100` is h100-sxm, `a100` a100-80gb); SpecError with close matches."""
    key = name.strip().lower().replace("_", "-")
    if key in PRESETS:
        return PRESETS[key]
    starting = [k for k in PRESETS if k.startswith(key)] if key else []
    if len(starting) == 1:
        return PRESETS[starting[0]]
    if key in NOT_PRESETS:
        raise SpecError(f"--device: {NOT_PRESETS[key]} is not a preset: its vendor publishes no "
                        "per-dtype peak, nor the unit counts to derive one; give --peak-tflops "
                        "and --bandwidth from a source you trust")
    raise SpecError(f"--device: unknown device '{name}'{suggest(key, list(PRESETS))}; one of: "
                    f"{', '.join(PRESETS)} (or give --peak-tflops and --bandwidth)")


def _positive(text: str, option: str, what: str) -> Fraction:
    """A positive decimal (or p/q) read exactly: "19.5" → 39/2; no float is made."""
    from convcalc.numbers import NumberError, parse_number, shown

    raw = text.strip()
    try:
        value = Fraction(parse_number(raw))
    except NumberError:
        raise SpecError(f"{option}: cannot read {shown(text)} as {what}") from None
    if value <= 0:
        raise SpecError(f"{option}: {what} must be > 0, got {raw}")
    return value


def parse_peak_tflops(text: str) -> dict[str, Fraction]:
    """`--peak-tflops`: "312" (every dtype) or "fp32=19.5,fp16=312" → {dtype: MAC/s}, exact.

    The numbers are FLOPS (TOPS for int8) in units of 10¹², i.e. 2 × MAC/s, as vendors quote.
    """
    option = "--peak-tflops"
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise SpecError(f"{option}: give a number of TFLOPS, e.g. 312, or per dtype, e.g. "
                        "fp32=19.5,fp16=312")
    if len(items) == 1 and "=" not in items[0]:
        macs = _positive(items[0], option, "a number of TFLOPS") * TERA / 2
        return dict.fromkeys(DTYPES, macs)
    peaks: dict[str, Fraction] = {}
    for item in items:
        dtype, eq, value = (s.strip() for s in item.partition("="))
        if not eq:
            raise SpecError(f"{option}: write dtype=TFLOPS for every item (fp32=19.5,fp16=312), "
                            f"got '{item}'")
        if dtype not in DTYPES:
            raise SpecError(f"{option}: unknown dtype '{dtype}'{suggest(dtype, list(DTYPES))}; "
                            f"one of: {', '.join(DTYPES)}")
        if dtype in peaks:
            raise SpecError(f"{option}: {dtype} is given twice")
        peaks[dtype] = _positive(value, f"{option} {dtype}", "a number of TFLOPS") * TERA / 2
    return peaks


def parse_bandwidth(text: str) -> Fraction:
    """`--bandwidth` in GB/s (10⁹ bytes/s) → bytes/s, exact: "2039" → 2039000000000."""
    return _positive(text, "--bandwidth", "a bandwidth in GB/s") * GIGA


def custom_device(peak_tflops: str, bandwidth_gbs: str, name: str = "custom") -> Device:
    """A device from `--peak-tflops` and `--bandwidth`, parsed exactly."""
    peaks = parse_peak_tflops(peak_tflops)
    bandwidth = parse_bandwidth(bandwidth_gbs)
    ordered = [d for d in DTYPES if d in peaks]
    return Device(
        key=name, name=f"custom ({peak_tflops.strip()} TFLOPS, {bandwidth_gbs.strip()} GB/s)",
        peaks=tuple(Peak(d, peaks[d], "as given on the command line") for d in ordered),
        bandwidth=bandwidth, source="command line (--peak-tflops, --bandwidth)",
    )


def resolve_device(device: str | None = None, peak_tflops: str | None = None,
                   bandwidth: str | None = None) -> Device:
    """`--device NAME`, or `--peak-tflops` with `--bandwidth`; anything else is a SpecError."""
    custom = [o for o, v in (("--peak-tflops", peak_tflops), ("--bandwidth", bandwidth))
              if v is not None]
    if device is not None:
        if custom:
            raise SpecError(f"--device: give a preset or {' and '.join(custom)}, not both")
        return get_device(device)
    if peak_tflops is not None and bandwidth is not None:
        return custom_device(peak_tflops, bandwidth)
    if custom:
        missing = "--bandwidth" if peak_tflops is not None else "--peak-tflops"
        raise SpecError(f"{custom[0]}: a custom device needs {missing} too")
    raise SpecError("--device: name a preset (" + ", ".join(PRESETS) + ") or give "
                    "--peak-tflops and --bandwidth")
