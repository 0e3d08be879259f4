"""Exact fractions over columns: numerator and denominator arrays of int64, widened to Python
ints (object arrays) only when a product could overflow.

agrade computes with `Decimal` (28 significant digits); these fractions are exact, so the two
agree wherever agrade's arithmetic is exact (sums and products of the short decimals evidence
holds), and in every comparison, since a fraction with a small denominator is never within
10^-20 of a threshold without being on it. (A quotient agrade rounds at 28 digits, such as
x / 3 * 3 compared with x, is where they could differ; no shipped standard divides in a scored
expression.)
"""
from __future__ import annotations

import math

import numpy as np

LIMIT = 1 << 62
_gcd_obj = np.frompyfunc(math.gcd, 2, 1)


def is_obj(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


def as_obj(x):
    if isinstance(x, np.ndarray):
        return x if x.dtype == object else x.astype(object)
    return int(x)


def maxabs(x) -> int:
    if isinstance(x, np.ndarray):
        if x.size == 0:
            return 0
        if x.dtype == object:
            return max(abs(int(v)) for v in x.ravel())
        return max(abs(int(x.max())), abs(int(x.min())))
    return abs(int(x))


def _narrow(x):
    """Back to int64 when the values fit again (after a reduction)."""
    if is_obj(x) and (x.size == 0 or maxabs(x) < LIMIT):
        return x.astype(np.int64)
    return x


def mul(x, y):
    if not is_obj(x) and not is_obj(y) and maxabs(x) * maxabs(y) < LIMIT:
        return np.multiply(x, y) if isinstance(x, np.ndarray) or isinstance(y, np.ndarray) else int(x) * int(y)
    return as_obj(x) * as_obj(y)


def add(x, y):
    if not is_obj(x) and not is_obj(y) and maxabs(x) + maxabs(y) < LIMIT:
        return np.add(x, y) if isinstance(x, np.ndarray) or isinstance(y, np.ndarray) else int(x) + int(y)
    return as_obj(x) + as_obj(y)


def gcd(x, y):
    if is_obj(x) or is_obj(y):
        return _gcd_obj(as_obj(x), as_obj(y))
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.gcd(x, y)
    return math.gcd(int(x), int(y))


class Frac:
    """num / den with den > 0; den is a Python int when it is the same for every row."""
    __slots__ = ("num", "den")

    def __init__(self, num, den=1):
        self.num, self.den = num, den

    @staticmethod
    def of_decimal(d) -> "Frac":
        sign, digits, exp = d.as_tuple()
        n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        if exp >= 0:
            return Frac(n * 10 ** exp, 1)
        return Frac(n, 10 ** -exp).reduced()

    def reduced(self) -> "Frac":
        num, den = self.num, self.den
        if isinstance(den, np.ndarray):
            g = gcd(num, den)
            g = np.where(g == 0, 1, g)
            return Frac(_narrow(num // g), _narrow(den // g))
        if den == 1:
            return self
        if isinstance(num, np.ndarray):
            g = den
            if num.size:
                g = math.gcd(den, int(np.gcd.reduce(np.abs(num))) if not is_obj(num) else
                             math.gcd(*[int(v) for v in num.ravel()], 0))
        else:
            g = math.gcd(int(num), den)
        if g > 1:
            return Frac(_narrow(num // g) if isinstance(num, np.ndarray) else num // g, den // g)
        return self


def common(a: Frac, b: Frac):
    """(a.num', b.num', den) over a common denominator."""
    if not isinstance(a.den, np.ndarray) and not isinstance(b.den, np.ndarray):
        d = a.den * b.den // math.gcd(a.den, b.den)
        return mul(a.num, d // a.den), mul(b.num, d // b.den), d
    g = gcd(a.den, b.den)
    fa, fb = b.den // g, a.den // g
    return mul(a.num, fa), mul(b.num, fb), mul(a.den, fa)


def f_add(a: Frac, b: Frac, sign: int = 1) -> Frac:
    na, nb, d = common(a, b)
    return Frac(add(na, -nb if sign < 0 else nb), d).reduced()


def f_mul(a: Frac, b: Frac) -> Frac:
    return Frac(mul(a.num, b.num), mul(a.den, b.den)).reduced()


def f_div(a: Frac, b: Frac):
    """a / b, and the rows where b is zero (their result is 0)."""
    zero = np.asarray(b.num == 0)
    bnum = np.where(zero, 1, b.num) if zero.any() else b.num
    sign = np.where(np.asarray(bnum) < 0, -1, 1)
    num = mul(mul(a.num, b.den), sign)
    den = mul(mul(a.den, bnum), sign)
    num = np.where(zero, 0, num) if zero.any() else num
    return Frac(num, den).reduced(), zero


def f_cmp(a: Frac, b: Frac) -> np.ndarray:
    """Sign of a - b per row (-1, 0, 1)."""
    na, nb, _ = common(a, b)
    diff = add(na, -nb if not is_obj(nb) else -nb)
    diff = np.asarray(diff)
    return (diff > 0).astype(np.int64) - (diff < 0).astype(np.int64)


def round_half_up(f: Frac, steps: int):
    """f rounded to a multiple of 1/steps, half away from zero (Decimal ROUND_HALF_UP), as the
    integer number of steps: floor((2|num|·steps + den) / (2·den))."""
    num2 = mul(f.num, 2 * steps)
    den2 = mul(f.den, 2)
    neg = np.asarray(num2) < 0
    mag = abs(num2) if not isinstance(num2, np.ndarray) else np.abs(num2)
    q = add(mag, f.den) // den2
    return np.where(neg, -q, q) if isinstance(q, np.ndarray) else (-q if neg else q)
