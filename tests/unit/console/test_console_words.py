"""A usage policy in words, in both languages."""

from __future__ import annotations

from console import words
from domain.types import Policy, PriceModel


def test_a_policy_reads_as_sentences_in_english_and_chinese() -> None:
    p = Policy(max_count=5, purposes=("research",), jurisdictions=("CN", "DE"), auto_approve=False,
               price_model=PriceModel.PREPAID, price_per_access=1500, free_uses=2)
    en = words.policy_lines(p, "en")
    assert en == ["Only for these purposes: research", "Only for consumers in: CN, DE", "At most 5 uses per grant",
                  "Prepaid: 1,500 per use, the grant's uses locked in escrow when it is issued, the first 2 uses free",
                  "Each grant is approved by the provider"]
    zh = words.policy_lines(p, "zh")
    assert zh[0] == "仅限以下用途：research" and zh[2] == "每项授权最多使用 5 次"
    assert zh[3] == "预付：每次使用 1,500，授权签发时按使用次数锁定托管资金，前 2 次使用免费"


def test_open_terms_and_subscriptions() -> None:
    p = Policy(price_model=PriceModel.SUBSCRIPTION, price_per_access=9, period=30 * 86400, compute_only=True)
    en = words.policy_lines(p, "en")
    assert en[:3] == ["For any purpose", "For consumers in any jurisdiction", "No limit on uses per grant"]
    assert "Subscription: 9 per 30 days" in en[3] and en[-1].startswith("Compute-to-data only")
    assert words.policy_lines(None, "zh") == ["没有使用策略：此资产无法授权。"]
    assert words.duration(90, "zh") == "90 秒" and words.duration(7200, "en") == "2 hours"
