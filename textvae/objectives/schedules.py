"""Step-dependent weights: constant, linear, logistic (Bowman et al. 2016), exponential and cyclical
(Fu et al. 2019)."""

from __future__ import annotations

import math

from textvae.config import ScheduleConfig


def schedule_value(config: ScheduleConfig, step: int) -> float:
    """The value of a schedule at training ``step`` (0-based: the first update sees step 0)."""
    if config.type == "constant":
        return config.value
    t = step - config.warmup
    if t < 0:
        return config.start
    if config.type == "cyclical":
        if t >= config.cycles * config.steps:
            return config.value
        t = t % config.steps
        progress = min(1.0, t / (config.ratio * config.steps))
    elif config.type == "linear":
        progress = min(1.0, t / config.steps)
    elif config.type == "exponential":
        return config.start * (config.value / config.start) ** min(1.0, t / config.steps)
    else:  # logistic: 0.7% of the way at t = 0, 99.3% at t = steps
        progress = 1.0 / (1.0 + math.exp(-10.0 * (t / config.steps - 0.5)))
    return config.start + (config.value - config.start) * progress
