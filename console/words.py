"""A usage policy in plain words, in the reader's language (the console's asset page; ODRL beside it)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import i18n
from domain.types import Policy, PriceModel


def _(lang: str) -> Callable[[str], str]:
    return i18n.translations(lang, "console").gettext


def duration(seconds: int, lang: str) -> str:
    """``30 days`` / ``30 天``, ``2 hours``, ``90 seconds``."""
    t = _(lang)
    for unit, size in ((t("{n} days"), 86_400), (t("{n} hours"), 3_600), (t("{n} minutes"), 60)):
        if seconds >= size and seconds % size == 0:
            return unit.format(n=i18n.format_number(seconds // size, lang))
    return t("{n} seconds").format(n=i18n.format_number(seconds, lang))


def amount(base_units: int, lang: str, token: tuple[str, int] | None = None) -> str:
    """An amount for people: ``12.5 TDST`` with the token's (symbol, decimals); base units when unknown."""
    if token is None:
        return i18n.format_number(base_units, lang)
    symbol, decimals = token
    value = Decimal(base_units).scaleb(-decimals) if decimals else Decimal(base_units)
    return f"{i18n.format_number(value, lang)} {symbol}"


def price_words(policy: Policy, lang: str, token: tuple[str, int] | None = None) -> str:
    """How a policy charges (``token``: the settlement token's symbol and decimals; else base units)."""
    t = _(lang)
    model, price = PriceModel(policy.price_model), amount(policy.price_per_access, lang, token)
    if model is PriceModel.FREE:
        return t("Free of charge")
    if model is PriceModel.PREPAID:
        text = t("Prepaid: {price} per use, the grant's uses locked in escrow when it is issued").format(price=price)
    elif model is PriceModel.PAY_AFTER_USE:
        text = t("Pay after use: {price} per use, settled per period from a signed statement").format(price=price)
    else:
        text = t("Subscription: {price} per {period}, locked in escrow when the grant is issued").format(
            price=price, period=duration(policy.period, lang))
    if policy.free_uses:
        text += t(", the first {n} uses free").format(n=i18n.format_number(policy.free_uses, lang))
    return text


def policy_lines(policy: Policy | None, lang: str, token: tuple[str, int] | None = None) -> list[str]:
    """The policy as sentences a person reads, one per term."""
    t = _(lang)
    if policy is None:
        return [t("No usage policy: this asset cannot be granted.")]
    lines = []
    if policy.purposes:
        lines.append(t("Only for these purposes: {purposes}").format(purposes=", ".join(policy.purposes)))
    else:
        lines.append(t("For any purpose"))
    if policy.jurisdictions:
        lines.append(t("Only for consumers in: {places}").format(places=", ".join(policy.jurisdictions)))
    else:
        lines.append(t("For consumers in any jurisdiction"))
    if policy.not_before or policy.not_after:
        lines.append(t("Usable from {start} until {end}").format(
            start=i18n.format_datetime(policy.not_before, lang, t("now")),
            end=i18n.format_datetime(policy.not_after, lang, t("open end"))))
    lines.append(t("At most {n} uses per grant").format(n=i18n.format_number(policy.max_count, lang))
                 if policy.max_count else t("No limit on uses per grant"))
    lines.append(price_words(policy, lang, token))
    lines.append(t("Granted automatically when the terms are met") if policy.auto_approve
                 else t("Each grant is approved by the provider"))
    if policy.compute_only:
        lines.append(t("Compute-to-data only: approved algorithms run next to the data, the raw bytes never leave"))
    return lines
