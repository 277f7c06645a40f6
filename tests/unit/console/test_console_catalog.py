"""The console's Chinese catalog is complete and current, and speaks the seeds' vocabulary."""

from __future__ import annotations

import i18n
from console import messages, web


def test_every_message_of_the_console_has_a_chinese_translation_and_none_is_stale() -> None:
    ids = messages.extract()
    assert len(ids) > 200  # the scan sees the templates, the page Python and console.js
    assert {"Proof verified", "Request a grant", "Only for these purposes: {purposes}"} <= ids
    missing, stale = messages.check(ids, messages.read())
    assert missing == [], f"translate these in {messages.PO} (python -m console.messages --update): {missing}"
    assert stale == [], f"no source uses these any more (python -m console.messages --update): {stale}"


def test_placeholders_survive_translation() -> None:
    zh = i18n.translations("zh", "console")
    for message in messages.extract():
        names = sorted(part.split("}", 1)[0] for part in message.split("{")[1:])
        translated = zh.gettext(message)
        assert sorted(part.split("}", 1)[0] for part in translated.split("{")[1:]) == names, message


def test_the_seeds_vocabulary() -> None:
    zh = i18n.translations("zh", "console").gettext
    assert "可信数据空间" in zh("TDS trusted data space")
    assert zh("Data products") == "数据产品"
    assert "使用控制" in zh("A trusted data space: the provider says who may use each data product, for what purpose, "
                        "how often and until when (usage control); every use leaves evidence anchored on the chain "
                        "(存证) that neither side can rewrite.")
    assert "数字合约" in zh("Your digital contracts with this provider: each grant is signed by you and the provider and "
                        "recorded on the chain. Uses left, downloads and receipts below; every receipt's proof can be "
                        "checked here, in your browser, against the chain.")
    assert zh("Owners (revenue sharing)") == "所有者（分润）"
    assert zh("anchored on-chain") == "已上链存证"


def test_the_page_scripts_get_their_strings_in_the_page_language() -> None:
    ids = web.js_messages()
    assert "Proof verified" in ids and "Wrong passphrase: the keystore could not be decrypted. Nothing was stored." in ids
    assert all("\n" not in i for i in ids)
