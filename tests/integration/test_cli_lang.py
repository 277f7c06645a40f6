"""The `tds` CLI in 中文 against a real anvil: what an operator of a Chinese data space reads.

What must hold: with ``--lang zh`` the tables' headers, the key/value blocks' keys, the words (states,
yes/no, open bounds) and the dates (``2026年12月2日 16:20:05 UTC``) are Chinese, while ids, hashes, DIDs
and titles are exactly what English prints; every key of a key/value block is translated; errors are
Chinese with the exit codes of English; ``--json`` is byte for byte the same in both languages.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from cli.main import main as tds_main
from domain.types import GrantRequest
from tests.integration.conftest import Space

pytestmark = pytest.mark.integration

TITLE = "上海气象 — 日均温度"
CJK = re.compile(r"[\u4e00-\u9fff]")
DATE_ZH = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d UTC")
NOT_WORDS = {"DID", "RPC URL", "CPU", "epsilon", "SHA-256"}  # labels that read the same in Chinese


@dataclass
class Story:
    """An asset with a policy (Chinese title), a derived one, a grant to the consumer (revoked), indexed."""

    asset: str
    derived: str
    grant: str


def _tds(space: Space, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tds_main(["--home", str(space.home), *args])
    return code, out.getvalue(), err.getvalue()


def _zh(space: Space, *args: str) -> str:
    code, out, err = _tds(space, "--lang", "zh", *args)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def story(space: Space, tmp_path_factory: pytest.TempPathFactory) -> Story:
    tmp = tmp_path_factory.mktemp("cli-lang")
    data = tmp / "weather.csv"
    data.write_bytes(b"day,temp\n" + os.urandom(32).hex().encode())
    policy = json.dumps({"purposes": ["research"], "jurisdictions": ["DE", "FR"], "max_count": 5,
                         "not_after": int(time.time()) + 30 * 86400})
    code, out, err = _tds(space, "--lang", "zh", "asset", "register", str(data), "--title", TITLE, "--policy", policy)
    assert code == 0, err
    assert "数据资产已登记" in out
    asset = "0x" + __import__("hashlib").sha256(data.read_bytes()).hexdigest()
    assert asset in out
    derived_file = tmp / "monthly.csv"
    derived_file.write_bytes(b"month,temp\n" + os.urandom(32).hex().encode())
    code, out, err = _tds(space, "asset", "register", str(derived_file), "--title", "月均温度", "--parent", asset,
                          "--json")
    assert code == 0, err
    derived = json.loads(out)["asset_id"]
    chain = space.chain()
    keys = Keystore(space.settings.keystore_dir)
    consumer, provider = keys.account("consumer"), keys.account("provider")
    now = int(time.time())
    _, _, grants = space.clients("provider")
    state = grants.policy_state(asset)
    assert state is not None
    req = GrantRequest(asset, consumer.address, "research", now - 60, now + 7 * 86400, 3, 0,
                       int.from_bytes(os.urandom(8), "big"), now + 3600, state.epoch)
    sig = sign_grant_request(consumer, chain.chain_id, chain.address("UsageGrants"), req)
    acceptance = sign_acceptance(provider, chain.chain_id, chain.address("UsageGrants"), grants.hash_request(req))
    grant, _ = grants.issue(req, sig, acceptance)
    grants.revoke(req)
    assert _tds(space, "audit", "index", "--json")[0] == 0
    return Story(asset, derived, grant)


def _labels(text: str) -> list[str]:
    """The keys of the key/value blocks in ``text`` (lines ``  key  value``)."""
    return [line[2:].split("  ")[0] for line in text.splitlines()
            if line.startswith("  ") and not line.startswith("   ") and "  " in line[2:]]


def _all_translated(text: str) -> None:
    english = [k for k in _labels(text) if not CJK.search(k) and k not in NOT_WORDS]
    assert not english, f"keys left in English: {english}\n{text}"


def test_asset_show_and_list_in_chinese(space: Space, story: Story) -> None:
    shown = _zh(space, "asset", "show", story.asset)
    _all_translated(shown)
    assert f"数据资产 {story.asset} ({TITLE})" in shown
    policy = next(line for line in shown.splitlines() if line.startswith("  使用策略"))
    assert "用途 research" in policy and "司法辖区 DE, FR" in policy and "每个授权最多 5 次" in policy, policy
    assert DATE_ZH.search(policy) and "免费" in policy and "不限 至" in policy, policy
    assert f"did:pkh:eip155:31337:{space.address('provider')}" in shown
    listed = _zh(space, "asset", "list")
    header = next(line for line in listed.splitlines() if "数据资产 ID" in line)
    assert "标题" in header and "状态" in header and "数据提供方" in header, listed
    assert TITLE in next(line for line in listed.splitlines() if story.asset in line)
    assert "有效" in next(line for line in listed.splitlines() if story.asset in line)


def test_participants_in_chinese(space: Space, story: Story) -> None:
    listed = _zh(space, "participant", "list")
    line = next(line for line in listed.splitlines() if space.address("consumer") in line)
    assert "数据使用方" in line and "有效" in line and DATE_ZH.search(line), line
    shown = _zh(space, "participant", "show", "consumer")
    _all_translated(shown)
    assert "入驻时间" in shown and "司法辖区" in shown and "是" not in _labels(shown)


def test_audit_in_chinese(space: Space, story: Story) -> None:
    history = _zh(space, "audit", "asset", story.asset, "--no-refresh")
    _all_translated(history)
    assert f"数据资产 {story.asset} ({TITLE})" in history and "时间线" in history
    assert "月均温度" in next(line for line in history.splitlines() if line.startswith("  衍生数据资产"))
    assert "登记" in history and "授权签发" in history and "授权撤销" in history, "timeline events in Chinese"
    grant = _zh(space, "audit", "grant", story.grant, "--no-refresh")
    _all_translated(grant)
    window = next(line for line in grant.splitlines() if line.startswith("  有效期"))
    assert " 至 " in window and len(DATE_ZH.findall(window)) == 2, window
    assert "已撤销" in next(line for line in grant.splitlines() if line.startswith("  状态")), grant


def test_json_is_the_same_in_both_languages(space: Space, story: Story) -> None:
    for args in (("asset", "show", story.asset), ("asset", "list"), ("asset", "versions", story.asset),
                 ("participant", "list"), ("participant", "show", "consumer"),
                 ("audit", "asset", story.asset, "--no-refresh"), ("audit", "grant", story.grant, "--no-refresh"),
                 ("audit", "participant", "consumer", "--no-refresh")):
        en = _tds(space, *args, "--json")
        zh = _tds(space, "--lang", "zh", *args, "--json")
        assert en[0] == zh[0] == 0, (args, en[2], zh[2])
        assert en[1] == zh[1], f"tds {' '.join(args)} --json differs between the languages"
        json.loads(en[1])


def test_errors_in_chinese_keep_the_exit_codes(space: Space, story: Story, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.csv"
    tampered.write_bytes(b"not the registered bytes")
    en = _tds(space, "asset", "verify", story.asset, str(tampered))
    zh = _tds(space, "--lang", "zh", "asset", "verify", story.asset, str(tampered))
    assert en[0] == zh[0] == 6
    assert f"{tampered} 与数据资产 {story.asset} 不一致" in zh[2] and "不一致" in zh[1], zh
    missing = "0x" + "00" * 32
    en = _tds(space, "asset", "show", missing)
    zh = _tds(space, "--lang", "zh", "asset", "show", missing)
    assert en[0] == zh[0] == 5 and f"没有数据资产 {missing}" in zh[2], zh
    en = _tds(space, "participant", "show", "0x" + "12" * 20)
    zh = _tds(space, "--lang", "zh", "participant", "show", "0x" + "12" * 20)
    assert en[0] == zh[0] == 5 and "不是参与方" in zh[2], zh
