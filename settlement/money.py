"""Amounts for people: base units shown with the token's decimals and symbol."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Money:
    """How a token's amounts read (``TDST``, 18 decimals; ``TDSC`` points, 0 decimals)."""

    symbol: str
    decimals: int

    def format(self, amount: int) -> str:
        """``12.5 TDST`` for 12.5e18 base units; whole numbers without a fraction."""
        if self.decimals == 0:
            return f"{amount:,} {self.symbol}"
        value = Decimal(amount).scaleb(-self.decimals)
        text = format(value.normalize(), "f") if value else "0"
        return f"{text} {self.symbol}"

    def parse(self, text: str) -> int:
        """Base units of ``12.5`` (token units) or ``12500000000000000000wei``-style ``base:N``."""
        text = str(text).strip().replace(",", "").removesuffix(self.symbol).strip()
        if text.startswith("base:"):
            return int(text[5:])
        try:
            value = Decimal(text).scaleb(self.decimals)
        except ArithmeticError as exc:
            raise ValueError(f"{text!r} is not an amount (e.g. 12.5, or base:12500 for base units)") from exc
        if value != value.to_integral_value() or value < 0:
            raise ValueError(f"{text} {self.symbol} is not a whole number of base units "
                             f"(the token has {self.decimals} decimals)")
        return int(value)
