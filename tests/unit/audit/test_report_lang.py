"""The HTML report in English and Chinese: the same facts, every string from the report catalog, dates per locale.

English must stay as it was (the JSON and the English page are what other tools and tests read); the Chinese
timeline is rebuilt from the facts (audit.report_words), so a unit test holds the English rebuild to the English
summaries audit.queries writes: a sentence that drifts from its summary fails here.
"""

from __future__ import annotations

import re

import pytest

from audit.db import IndexDb
from audit.indexer import Indexer
from audit.queries import asset_history, participant_history
from audit.report import render_html
from audit.report_words import asset_sentences, participant_sentences, term
from tests.unit.audit import test_audit_money as money
from tests.unit.audit.conftest import (
    CLEAN, CONSUMER, MODEL, PROVIDER, RAW, RAW2, Source, SyntheticChain, anchor, h32, small_space,
)

ALGO = h32("algorithm")


@pytest.fixture(scope="module")
def spaces() -> list[tuple[IndexDb, list[str], list[str]]]:
    """The small space with compute policy, a deactivation and anchors (one by a notary key), and the money space
    (escrow, refund, dispute ruled): (index, asset ids, participant addresses)."""
    c = SyntheticChain()
    small_space(c)
    c.emit("ComputePolicies", "AlgorithmApproved", assetId=CLEAN, algorithmId=ALGO, provider=PROVIDER)
    c.emit("ComputePolicies", "PrivacyBudgetSet", assetId=CLEAN, epsilonMicros=400000, provider=PROVIDER)
    c.emit("ComputePolicies", "PrivacyBudgetSet", assetId=CLEAN, epsilonMicros=0, provider=PROVIDER)
    c.emit("ComputePolicies", "AlgorithmRejected", assetId=CLEAN, algorithmId=ALGO, provider=PROVIDER)
    c.emit("AssetRegistry", "AssetDeactivated", assetId=MODEL, by=PROVIDER)
    anchor(c, h32("root 1"), 1200)
    anchor(c, h32("root 2"), 3, anchorer=CONSUMER)
    anchor(c, h32("root 3"), 3, kind=2)
    db = IndexDb.open("sqlite://")
    Indexer(db, Source(c), batch_blocks=4).run_once()
    db2, _, _ = money._indexed()
    return [(db, [CLEAN, RAW, MODEL, RAW2], [PROVIDER, CONSUMER]), (db2, [money.CLEAN, money.RAW], [money.P, money.C])]


def test_english_sentences_are_the_summaries_and_chinese_rebuilds_every_one(spaces: list) -> None:
    seen = set()
    for db, assets, people in spaces:
        with db.session() as s:
            histories = [(asset_history(s, a), asset_sentences) for a in assets]
            histories += [(participant_history(s, p), participant_sentences) for p in people]
        for h, sentences in histories:
            en, zh = sentences(h, "en"), sentences(h, "zh")
            for e in h.timeline:
                seen.add(e.kind)
                assert en(e) == e.summary
                assert zh(e) != e.summary and re.search(r"[\u4e00-\u9fff]", zh(e)), (e.kind, zh(e))
    assert {"registered", "version", "policy", "grant_issued", "grant_revoked", "grant_accepted", "escrow_locked",
            "refunded", "settled", "dispute_opened", "dispute_ruled", "deactivated", "algorithm_approved",
            "algorithm_rejected", "privacy_budget", "onboarded", "anchored"} <= seen


def test_the_chinese_report_speaks_chinese_and_still_escapes(spaces: list) -> None:
    db = spaces[0][0]
    titles = {CLEAN: "<script>alert('清洗')</script>", RAW: 'raw "<img src=x>"'}
    with db.session() as s:
        zh = render_html(s, CLEAN, chain_id=31337, title_of=titles.get, lang="zh")
        en = render_html(s, CLEAN, chain_id=31337, title_of=titles.get, lang="en")
    assert zh.startswith("<!doctype html><html lang=zh-CN>") and en.startswith("<!doctype html><html lang=en>")
    assert "<script" not in zh and "<img" not in zh
    assert "<title>审计报告 &lt;script&gt;alert(&#39;清洗&#39;)&lt;/script&gt;</title>" in zh
    for english, chinese in [("Lineage", "数据血缘"), ("Timeline", "时间线"), ("Grants", "数字合约"),
                             ("Money and use", "费用与使用"), ("Disputes", "争议仲裁"), ("Proofs", "证明")]:
        assert f"<h2>{chinese}</h2>" in zh and f"<h2>{english}</h2>" in en and f"<h2>{english}</h2>" not in zh
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d UTC", zh)  # dates per locale
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", en) and "年" not in en
    assert "尚未生效" == term("not_yet_valid", "zh") and term("not_yet_valid", "en") == "not yet valid"
    assert "有效期自 不限 至 不限" in zh  # an open window bound (pgettext "window"), not a dispute's "进行中"


def test_an_unknown_language_is_english(spaces: list) -> None:
    db = spaces[0][0]
    with db.session() as s:
        assert render_html(s, RAW, lang="fr").startswith("<!doctype html><html lang=en>")
