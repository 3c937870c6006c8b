"""Vibration features (engines/devices/vibration.py) on synthetic signals whose answers are known in closed form:
a sine of amplitude A has RMS A/√2, peak A and crest factor √2 (any vibration textbook, e.g. ISO 2041 / Harris'
Shock and Vibration Handbook ch. 1); its power sits in the band holding its frequency. ISO 10816-1 Annex B zones."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mom.engines.devices import vibration as V


def _sine(amp: float, hz: float, rate: float, n: int, offset: float = 0.0) -> list[float]:
    t = np.arange(n) / rate
    return list(offset + amp * np.sin(2 * math.pi * hz * t))


def test_sine_rms_peak_crest_and_band_energy() -> None:
    x = V.samples_of(_sine(2.0, 50.0, 2000.0, 4000, offset=0.3))      # 100 whole periods; a DC offset is not vibration
    got = V.features(x, 2000.0, "vib", V.parse_bands("10-100, 100-1000"))
    assert got["vib_rms"] == pytest.approx(2 / math.sqrt(2), rel=2e-3)
    assert got["vib_peak"] == pytest.approx(2.0, rel=2e-3)
    assert got["vib_crest"] == pytest.approx(math.sqrt(2), rel=3e-3)
    assert got["vib_band_10_100"] == pytest.approx(2 / math.sqrt(2), rel=0.02)      # all the energy at 50 Hz
    assert got["vib_band_100_1000"] < 0.02 * got["vib_rms"]


def test_two_tones_split_between_bands() -> None:
    x = np.asarray(_sine(1.0, 60.0, 5000.0, 8192)) + np.asarray(_sine(3.0, 1200.0, 5000.0, 8192))
    got = V.features(x, 5000.0, "vib", V.parse_bands("10-1000,1000-2000"))
    assert got["vib_band_10_1000"] == pytest.approx(1 / math.sqrt(2), rel=0.03)
    assert got["vib_band_1000_2000"] == pytest.approx(3 / math.sqrt(2), rel=0.03)
    assert got["vib_rms"] ** 2 == pytest.approx(got["vib_band_10_1000"] ** 2 + got["vib_band_1000_2000"] ** 2, rel=0.03)


def test_bounds_and_bad_input_are_refused_in_words() -> None:
    with pytest.raises(V.WaveformProblem) as exc:
        V.samples_of([0.0] * (V.MAX_SAMPLES + 1))
    assert "65536" in exc.value.zh and "65536" in exc.value.en
    for bad in ("abc", [1, 2, "x"] * 10, [float("nan")] * 20, [1.0] * 3):
        with pytest.raises(V.WaveformProblem):
            V.samples_of(bad)
    for rate in (0, -5, "fast", True, 2e6):
        with pytest.raises(V.WaveformProblem):
            V.rate_of(rate)
    with pytest.raises(ValueError, match="下限必须小于上限"):
        V.parse_bands("100-10")
    with pytest.raises(ValueError, match="写法不对"):
        V.parse_bands("10 to 100")


def test_iso_10816_zones() -> None:
    # ISO 10816-1 Annex B, Table B.1: class I boundaries 0.71 / 1.8 / 4.5 mm/s; class III 1.8 / 4.5 / 11.2
    assert [V.zone(v, "I") for v in (0.5, 0.71, 2.0, 4.5)] == ["A", "B", "C", "D"]
    assert [V.zone(v, "III") for v in (1.0, 2.0, 5.0, 12.0)] == ["A", "B", "C", "D"]
    assert V.band_tag("vib", 0.5, 10) == "vib_band_0p5_10"
