"""Vibration features of a waveform (振动特征, issue 23): a sensor that sends an array of samples and its sample
rate gets, per message, the RMS, peak, crest factor and the RMS in configured frequency bands, stored as
process values (one tag per feature) so they chart and alarm like any value.

Definitions (the signal's mean removed first: an accelerometer's or velocity sensor's DC offset is not
vibration): RMS = √(mean(x²)); peak = max |x|; crest factor = peak / RMS (√2 for a pure sine); band RMS =
√(∫ PSD df) over [f₁, f₂) from Welch's power spectral density (scipy.signal.welch, Hann window), so the band
values of a signal add up (in squares) to its total RMS².

ISO 10816-1:1995 Annex B, Table B.1 — vibration severity zones by machine class for the velocity RMS in mm/s
(10–1000 Hz): zone A (new), B (unrestricted long-term operation), C (restricted: plan maintenance), D (damage
likely). Boundaries A/B, B/C, C/D per class in :data:`ISO_10816`.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import signal

from mom.platform.errors import InvalidInput

MAX_SAMPLES = 65_536
MIN_SAMPLES = 16
MAX_RATE = 1_000_000.0
MAX_BANDS = 8
#: ISO 10816-1 Annex B: velocity RMS (mm/s) zone boundaries A/B, B/C, C/D for classes I–IV
ISO_10816: dict[str, tuple[float, float, float]] = {
    "I": (0.71, 1.8, 4.5), "II": (1.12, 2.8, 7.1), "III": (1.8, 4.5, 11.2), "IV": (2.8, 7.1, 18.0)}
CLASS_ZH = {"I": "Ⅰ类（15 kW 以下小型电机）", "II": "Ⅱ类（15–75 kW 中型机器）", "III": "Ⅲ类（刚性基础上的大型机器）",
            "IV": "Ⅳ类（柔性基础上的大型机器）"}
ZONE_ZH = {"A": "A 区（良好）", "B": "B 区（可长期运行）", "C": "C 区（限期运行，应安排维修）", "D": "D 区（可能损坏）"}
TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_BAND = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


class WaveformProblem(InvalidInput, ValueError):
    """A waveform that cannot be read (zh + en; 422 ``invalid_input``); the message's other values are still used."""


def parse_bands(text: str | None) -> tuple[tuple[float, float], ...]:
    """``"10-1000, 1000-5000"`` → ((10, 1000), (1000, 5000)); ValueError(zh / en) naming what is wrong."""
    out: list[tuple[float, float]] = []
    for part in [p for p in re.split(r"[,，;；]", text or "") if p.strip()]:
        m = _BAND.match(part)
        if not m:
            raise ValueError(f"频带「{part.strip()[:40]}」写法不对：请写成 下限-上限（Hz），多个用逗号分隔，如 10-1000,1000-5000"
                             f" / band {part.strip()[:40]!r}: write low-high in Hz, comma-separated, e.g. 10-1000,1000-5000")
        lo, hi = float(m.group(1)), float(m.group(2))
        if not lo < hi:
            raise ValueError(f"频带「{part.strip()[:40]}」的下限必须小于上限 / band {part.strip()[:40]!r}: low must be below high")
        out.append((lo, hi))
    if len(out) > MAX_BANDS:
        raise ValueError(f"频带最多 {MAX_BANDS} 个 / at most {MAX_BANDS} bands")
    return tuple(out)


def band_tag(tag: str, lo: float, hi: float) -> str:
    """The process value name of a band: ``vib_band_10_1000`` (a decimal point written as ``p``)."""
    def f(x: float) -> str:
        return f"{x:g}".replace(".", "p")
    return f"{tag}_band_{f(lo)}_{f(hi)}"


def feature_tags(tag: str, bands: Sequence[tuple[float, float]]) -> list[str]:
    return [f"{tag}_rms", f"{tag}_peak", f"{tag}_crest", *(band_tag(tag, lo, hi) for lo, hi in bands)]


def samples_of(raw: Any) -> np.ndarray:
    """The waveform as floats; :class:`WaveformProblem` when it is not an array of at most MAX_SAMPLES finite numbers."""
    if not isinstance(raw, (list, tuple)):
        raise WaveformProblem("波形不是数组", "the waveform is not an array")
    n = len(raw)
    if n > MAX_SAMPLES:
        raise WaveformProblem(f"波形有 {n} 个采样点，超过上限 {MAX_SAMPLES}，不计算振动特征",
                              f"the waveform has {n} samples, above the limit of {MAX_SAMPLES}; no features computed")
    if n < MIN_SAMPLES:
        raise WaveformProblem(f"波形只有 {n} 个采样点，至少需要 {MIN_SAMPLES} 个", f"the waveform has {n} samples; at least {MIN_SAMPLES} are needed")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in raw):
        raise WaveformProblem("波形里有不是数字的值", "the waveform holds a value that is not a number")
    x = np.asarray(raw, dtype=float)
    if not np.all(np.isfinite(x)):
        raise WaveformProblem("波形里有无穷大或非数值", "the waveform holds an infinite or NaN value")
    return x


def rate_of(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < float(raw) <= MAX_RATE:
        raise WaveformProblem(f"采样率 {str(raw)[:40]} 不是 0 到 {MAX_RATE:g} Hz 之间的数",
                              f"the sample rate {str(raw)[:40]} is not a number above 0 up to {MAX_RATE:g} Hz")
    return float(raw)


def features(x: np.ndarray, rate: float, tag: str, bands: Sequence[tuple[float, float]]) -> dict[str, float]:
    """RMS, peak, crest factor and band RMS of the samples ``x`` taken at ``rate`` Hz, by feature tag."""
    ac = x - x.mean()
    rms = float(math.sqrt(float(np.mean(ac * ac))))
    peak = float(np.max(np.abs(ac)))
    out = {f"{tag}_rms": rms, f"{tag}_peak": peak, f"{tag}_crest": peak / rms if rms > 0 else 0.0}
    if bands:
        freqs, psd = signal.welch(ac, fs=rate, window="hann", nperseg=min(len(ac), 4096), detrend=False, scaling="density")
        df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else rate
        for lo, hi in bands:
            mask = (freqs >= lo) & (freqs < hi)
            out[band_tag(tag, lo, hi)] = float(math.sqrt(float(np.sum(psd[mask])) * df))
    return out


def zone(rms: float, iso_class: str) -> str:
    """The ISO 10816-1 zone (A–D) of a velocity RMS in mm/s for a machine class I–IV."""
    ab, bc, cd = ISO_10816[iso_class]
    return "A" if rms < ab else "B" if rms < bc else "C" if rms < cd else "D"


@dataclasses.dataclass(frozen=True)
class WaveSpec:
    """A mapping's waveform: expressions for the samples and the rate, the feature tag prefix, unit, bands,
    the ISO 10816 class (or None) and the action when the RMS reaches zone D."""
    tag: str
    samples: Any          # an Expr (mapping.compile_expr)
    rate: Any
    unit: str | None
    bands: tuple[tuple[float, float], ...]
    iso_class: str | None
    action: str

    def read(self, names: Mapping[str, Any]) -> dict[str, float] | None:
        """The features of one message (None: the message carries no waveform); WaveformProblem when unreadable."""
        raw = self.samples.run(names)
        if raw is None:
            return None
        x = samples_of(raw)
        return features(x, rate_of(self.rate.run(names)), self.tag, self.bands)
