"""Words for numbers and prices that the constraint reader and the plan checker both read, so that both read them
the same way: Chinese digits, and the Chinese discount N折 (the share of the price paid)."""

from __future__ import annotations

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def zhe_to_off(token: str) -> float:
    """The percent off of a Chinese 'N折', which names the share of the price paid: 7折 -> 30, 8.5折 / 85折 / 八五折 /
    八点五折 -> 15, 95折 -> 5, 10折 -> 0 (full price). `token` is what stands before 折."""
    if token and token[0] in CN_DIGITS:
        digits = [CN_DIGITS[ch] for ch in token if ch in CN_DIGITS]
        price: float = digits[0] * 10 + (digits[1] if len(digits) > 1 else 0)
    else:
        value = float(token)
        price = value * 10 if value <= 10 else value
    return float(round(100 - price, 2))
