"""The CLI in 中文 and English, no chain needed: the language chosen per invocation, help and messages
translated from ``i18n/locales/zh/cli.po``, the catalog complete and without stale messages.

Must hold: ``--lang zh`` or a Chinese ``LANG`` gives Chinese help (lazily: ``tds --lang zh --help``
imports no command module) and Chinese errors with the exit codes of English; every help string
(command or option) and every message the code passes to ``tr`` has a translation with the same
placeholders; every msgid of ``cli.po`` still appears in the code (cli/, click, or as a word or key of the
project's packages); English help is what click itself prints; ``--json`` is the same in both languages;
nothing of one invocation's language leaks into the next.
"""

from __future__ import annotations

import ast
import io
import json
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from rich.console import Console

import cli.output as output
from cli import lang
from cli.help import Command, help_text, width, wrap
from cli.main import SUMMARIES, cli, main

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "i18n" / "locales" / "zh" / "cli.po"
PACKAGES = ("config", "domain", "notary", "chain", "vault", "anchoring", "client", "settlement", "services",
            "gateway", "audit", "compute", "cli")
HEAVY = ("web3", "eth_account", "fastapi", "sqlmodel", "sqlalchemy", "uvicorn")
ID = "0x" + "ab" * 32


# ---- what the catalog must hold, read from the code ------------------------------------------------------


def commands() -> Iterator[tuple[str, click.Command]]:
    """Every command of the fully loaded tree with its path (``tds asset show``)."""
    cli.load_all()

    def walk(cmd: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                yield from walk(cmd.commands[name], f"{path} {name}")

    yield from walk(cli, "tds")


def help_msgids() -> dict[str, str]:
    """Every help string shown (commands, options, root summaries) -> where (``tds asset show --json``)."""
    found: dict[str, str] = {}
    for path, cmd in commands():
        if cmd.help:
            found.setdefault(help_text(cmd.help), path)
        for param in cmd.params:
            text = getattr(param, "help", None)
            if text:
                found.setdefault(help_text(text), f"{path} {param.opts[0] if param.opts else param.name}")
    for name, text in SUMMARIES.items():
        found.setdefault(text, f"tds --help ({name})")
    return found


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def code_msgids() -> dict[str, str]:
    """Literal messages of ``cli/`` -> ``file:line``: first arguments of ``tr`` and ``N_``, column names
    given to ``table`` and keys of dicts given to ``kv`` (as :func:`cli.output.label` shows them)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "cli").glob("*.py")):
        for call in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)):
            name, args, texts = _called(call), call.args, []
            if name in ("tr", "N_") and args:
                texts = [_text(args[0])]
            elif name == "table" and args and isinstance(args[0], ast.List):
                texts = [(_text(e) or "").replace("_", " ") for e in args[0].elts]
            elif name == "kv" and len(args) >= 2 and isinstance(args[1], ast.Dict) \
                    and not any(k.arg == "names" for k in call.keywords):
                texts = [(_text(k) or "").replace("_", " ") for k in args[1].keys if k is not None]
            for text in filter(None, texts):
                found.setdefault(text, f"{path.relative_to(ROOT)}:{call.lineno}")
    return found


def click_msgids() -> set[str]:
    """The messages click passes to gettext."""
    found: set[str] = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for call in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)):
            if _called(call) in ("_", "ngettext"):
                found.update(filter(None, map(_text, call.args)))
    return found


def vocabulary() -> set[str]:
    """Every string literal and class attribute name (dataclass fields, enum members) of the project's
    packages, as is and as a label (``metadata_uri`` -> ``metadata uri``): the words :func:`cli.lang.term`
    translates and the keys of JSON views printed as labels."""
    found: set[str] = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text())
            words = [t for t in map(_text, ast.walk(tree)) if t and len(t) < 200]
            for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
                for stmt in cls.body:
                    targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else \
                        stmt.targets if isinstance(stmt, ast.Assign) else []
                    words += [t.id.lower() for t in targets if isinstance(t, ast.Name)]
            found.update(w for text in words for w in (text, text.replace("_", " "), text.removeprefix("odrl:")))
    return found


def catalog() -> list[tuple[str | None, tuple[str, ...], str]]:
    """(context, msgid(s), msgstr) of every message of ``cli.po``; fuzzy ones count as untranslated."""
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        po = read_po(f, locale="zh_Hans_CN", domain="cli")
    rows = []
    for m in po:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        text = m.string[0] if isinstance(m.string, (tuple, list)) else m.string
        rows.append((m.context, tuple(ids), "" if m.fuzzy else str(text or "")))
    return rows


def translated() -> set[str]:
    """msgids (without a context) that have a translation."""
    return {i for ctx, ids, text in catalog() if text and ctx is None for i in ids}


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


# ---- the catalog ------------------------------------------------------------------------------------------


def test_every_help_string_has_a_chinese_translation() -> None:
    done = translated()
    missing = [f"{where}: {msgid!r}" for msgid, where in help_msgids().items() if msgid not in done]
    assert not missing, f"{len(missing)} help string(s) without a translation in {PO.name}:\n" + "\n".join(missing)


def test_every_message_of_the_code_has_a_chinese_translation() -> None:
    done = translated()
    missing = [f"{where}: {msgid!r}" for msgid, where in code_msgids().items() if msgid not in done]
    assert not missing, f"{len(missing)} message(s) without a translation in {PO.name}:\n" + "\n".join(missing)


def test_no_stale_messages_in_the_catalog() -> None:
    known = set(help_msgids()) | set(code_msgids()) | click_msgids() | vocabulary()
    stale = [ids[0] for _ctx, ids, _text in catalog() if not any(i in known for i in ids)]
    assert not stale, f"{len(stale)} msgid(s) in {PO.name} no longer in the code:\n" + "\n".join(map(repr, stale))


def test_translations_keep_their_placeholders_and_ids() -> None:
    wrong = []
    for _ctx, ids, text in catalog():
        wanted = set().union(*map(_fields, ids))
        if not text or (_fields(text) != wanted if len(ids) == 1 else not _fields(text) <= wanted):
            wrong.append(f"{ids[0]!r} -> {text!r}")
        for token in ("`tds", "0x", "--"):  # commands and options stay as typed
            if ids[0].count(token) > text.count(token):
                wrong.append(f"{ids[0]!r} lost {token!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


def test_the_catalog_has_a_glossary() -> None:
    head = PO.read_text(encoding="utf-8").split('msgid ""')[0]
    for term in ("可信数据空间", "数据产品", "使用控制", "存证", "数字合约", "分润", "争议仲裁"):
        assert term in head, f"the glossary at the top of {PO.name} lacks {term}"


# ---- help -------------------------------------------------------------------------------------------------


def test_every_command_translates_its_help() -> None:
    plain = [path for path, cmd in commands() if not isinstance(cmd, Command)]
    assert not plain, f"give these click.command/group cls=cli.help.Command/Group: {plain}"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from cli.main import main; rc = main(sys.argv[1:]); "
            f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules); print('HEAVY', heavy, file=sys.stderr); "
            "sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=ROOT)


def test_lang_zh_help_is_chinese_and_lazy() -> None:
    r = _run("--lang", "zh", "--help", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    assert "HEAVY []" in r.stderr, r.stderr
    for text in ("用法：", "选项：", "命令：", "可信数据空间", "显示此帮助信息并退出。", "数据资产：按内容寻址"):
        assert text in r.stdout, r.stdout
    assert "Show this message" not in r.stdout and "Data assets" not in r.stdout


def test_chinese_lang_environment_gives_chinese_help() -> None:
    r = _run("asset", "--help", env={"PATH": "/usr/bin:/bin", "LANG": "zh_CN.UTF-8"})
    assert r.returncode == 0, r.stderr
    assert "数据资产：按内容寻址" in r.stdout and "登记 FILE" in r.stdout and "命令：" in r.stdout, r.stdout
    r = _run("asset", "--help", env={"PATH": "/usr/bin:/bin", "LANG": "zh_CN.UTF-8", "TDS_LANG": "en"})
    assert "Data assets: content-addressed" in r.stdout, "TDS_LANG comes first"


def test_options_help_and_click_extras_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "settle", "run", "--help"]) == 0
    text = capsys.readouterr().out
    assert "只显示将要结算的内容；不发送任何交易。" in text and "--statements FILE" in text, text
    assert main(["--lang", "zh", "gateway", "serve", "--help"]) == 0
    assert "[默认：warning]" in capsys.readouterr().out


def test_english_help_is_what_click_prints() -> None:
    for path, cmd in commands():
        if isinstance(cmd, click.Group):
            continue
        plain = click.Command(cmd.name, params=cmd.params, help=cmd.help, epilog=cmd.epilog,
                              short_help=cmd.short_help, options_metavar=cmd.options_metavar,
                              add_help_option=cmd.add_help_option)
        names = ["-h", "--help"]  # the root's context settings
        with click.Context(cmd, info_name=path, help_option_names=names) as ctx:
            ours = cmd.get_help(ctx)
        with click.Context(plain, info_name=path, help_option_names=names) as ctx:
            theirs = plain.get_help(ctx)
        assert ours == theirs, path
        assert cmd.get_short_help_str(60) == plain.get_short_help_str(60), path


def test_chinese_wraps_by_display_width() -> None:
    text = "依据本数据提供方网关已上链存证的凭证，结算其付费授权的一个周期。用量来自代表数据提供方上链存证的凭证。"
    lines = wrap(text, 30, "  ", "  ").splitlines()
    assert len(lines) > 2 and all(width(line) <= 30 for line in lines), lines
    assert not any(line.strip()[0] in "，。；：）" for line in lines), lines
    assert "".join(line.strip() for line in lines) == text
    assert wrap("ASSET_ID 0x" + "ab" * 32 + " 一致", 20).split()[1] == "0x" + "ab" * 32, "an id stays whole"


def test_help_option_of_a_command_first_shown_in_chinese_stays_english_in_english(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "token", "balance", "--help"]) == 0
    assert "显示此帮助信息并退出。" in capsys.readouterr().out
    assert main(["token", "balance", "--help"]) == 0
    text = capsys.readouterr().out
    assert "Show this message and exit." in text and "显示" not in text


# ---- choosing the language ----------------------------------------------------------------------------------


def test_language_per_invocation() -> None:
    import i18n

    assert lang.LANGS == i18n.LANGS
    assert lang.resolve(["--lang", "zh", "asset", "list"], {}) == "zh"
    assert lang.resolve(["--home", "x", "--lang=zh", "asset"], {"LANG": "en_US.UTF-8"}) == "zh"
    assert lang.resolve(["--lang", "en", "asset"], {"LANG": "zh_CN.UTF-8"}) == "en"
    assert lang.resolve(["asset", "list"], {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert lang.resolve(["asset", "list"], {"LC_ALL": "zh_TW", "LANG": "en_US"}) == "zh"
    assert lang.resolve(["asset", "list"], {"TDS_LANG": "en", "LANG": "zh_CN.UTF-8"}) == "en"
    assert lang.resolve(["--as", "--lang", "asset"], {}) == "en", "--as's value is not an option"
    assert lang.resolve(["asset", "--lang", "zh"], {}) == "en", "a subcommand's --lang is not the root's"
    assert lang.resolve(["--lang", "fr", "asset"], {"LANG": "zh_CN"}) == "zh", "an invalid --lang: the environment"
    assert lang.resolve([], {"LANG": "de_DE.UTF-8"}) == "en"


def test_nothing_leaks_into_the_next_invocation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--lang", "zh", "--home", str(tmp_path), "asset", "show", "nope"]) == 2
    assert "不是数据资产 ID" in capsys.readouterr().err
    assert lang.current() == "en"
    assert main(["--home", str(tmp_path), "asset", "show", "nope"]) == 2
    assert "is not an asset id" in capsys.readouterr().err
    assert lang.click_hooked(), "click's messages come from the cli catalog (a click upgrade may change that)"


# ---- messages ---------------------------------------------------------------------------------------------


def _both(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[tuple[int, str], tuple[int, str]]:
    en = main(list(args)), capsys.readouterr().err
    zh = main(["--lang", "zh", *args]), capsys.readouterr().err
    return en, zh


def test_errors_in_chinese_keep_the_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_RPC_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    (en, en_err), (zh, zh_err) = _both(capsys, "--home", str(tmp_path), "asset", "show", "nope")
    assert en == zh == 2 and "'nope' 不是数据资产 ID" in zh_err and "错误：" in zh_err and "用法：" in zh_err
    (en, en_err), (zh, zh_err) = _both(capsys, "--home", str(tmp_path), "no-such-command")
    assert en == zh == 2 and "没有命令 'no-such-command'" in zh_err
    (en, en_err), (zh, zh_err) = _both(capsys, "--home", str(tmp_path), "asset", "show")
    assert en == zh == 2 and "缺少参数 'ASSET_ID'" in zh_err
    nowhere = str(tmp_path / "nowhere")
    (en, en_err), (zh, zh_err) = _both(capsys, "--home", nowhere, "participant", "list")
    assert en == zh == 3 and "没有主目录：请运行 `tds init`" in zh_err and nowhere in zh_err
    onboard = ("--home", str(tmp_path), "participant", "onboard", "nobody", "--roles", "provider",
               "--jurisdiction", "DE", "--credential-hash", ID)
    (en, en_err), (zh, zh_err) = _both(capsys, *onboard)
    assert en == zh == 3, (en_err, zh_err)
    assert "密钥库不可用" in zh_err and "run `tds init`" in zh_err, "the keystore's own words follow, in brackets"
    assert "密钥库" not in en_err and en_err.startswith("error: no keystore at")


def test_gateway_codes_and_reverts_in_chinese(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from chain.devnet import Devnet
    from chain.errors import revert_class
    from cli.errors import describe_revert
    from gateway.errors import ChainUnavailableError

    def down(*_a: object, **_k: object) -> None:
        raise ChainUnavailableError("node down")

    monkeypatch.setattr(Devnet, "status", down)
    (en, en_err), (zh, zh_err) = _both(capsys, "--home", str(tmp_path), "chain", "status")
    assert en == zh == 3
    assert en_err.strip() == "error: chain_unavailable: node down"
    assert "chain_unavailable: 无法连接区块链节点 [node down]" in zh_err
    exc = revert_class("AssetInvalidShares")("AssetInvalidShares", {"totalBps": 9000})
    with lang.speaking("zh"):
        assert describe_revert(exc) == "所有者份额合计 9000 基点；必须合计 10000 [AssetInvalidShares(totalBps=9000)]"


def test_json_is_the_same_in_both_languages(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_RPC_URL", "http://127.0.0.1:9")
    tmp_path.mkdir(exist_ok=True)
    outs = []
    for args in (["chain", "status", "--json"], ["--lang", "zh", "chain", "status", "--json"]):
        assert main(["--home", str(tmp_path), *args]) == 3
        outs.append(capsys.readouterr().out)
    assert json.loads(outs[0])["running"] is False and outs[0] == outs[1]


def test_values_and_labels_for_people_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.output import human, kv, table, when, window

    buf = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=buf, width=200, color_system=None))
    with lang.speaking("zh"):
        assert (human(True), human(False), human([]), human(None)) == ("是", "否", "无", "—")
        assert when(1_796_228_405) == "2026年12月2日 16:20:05 UTC" and when(0) == "不限"
        assert window(0, 1_796_228_405) == "不限 至 2026年12月2日 16:20:05 UTC"
        kv("数据资产", {"asset_id": ID, "active": True, "onboarded_at": None})
        table(["asset id", "status"], [[ID, "active"]])
    from rich.cells import cell_len

    lines = buf.getvalue().splitlines()
    assert [line.split()[-1] for line in lines[1:4]] == [ID, "是", "—"], lines
    starts = {cell_len(line[:line.rindex(line.split()[-1])]) for line in lines[1:4]}
    assert len(starts) == 1, f"values line up by display width: {lines[1:4]}"
    assert "数据资产 ID" in lines[5] and "状态" in lines[5] and ID in lines[7], lines
    assert human(True) == "yes" and when(0) == "open", "outside a Chinese invocation: English"
