"""Screenshots of a running console's main pages, taken by Debian's chromium through Playwright (headless).

    python -m console.screenshots --url http://127.0.0.1:8700 --keystore <home>/keystore --out <dir>

What it does is what a person does: opens the catalog (中文) and the first asset's page (English), unlocks the
consumer's keystore in the page's dev wallet and checks the proof of its latest anchored receipt on the
consumer page, then unlocks the provider's keystore and opens the provider's desk; with ``--audit-url``, the
operator's and auditor's console too (the timeline in 中文, the findings in English). The demo runs it; it prints
one line per picture. Without chromium it says so and exits 3 (nothing is taken).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _unlock(page: object, url: str, keystore: Path, name: str) -> None:
    page.goto(f"{url}/console/wallet")  # type: ignore[attr-defined]
    page.set_input_files("#keystore-file", str(keystore / f"{name}.json"))  # type: ignore[attr-defined]
    page.fill("#keystore-passphrase", (keystore / ".passphrase").read_text().strip())  # type: ignore[attr-defined]
    page.click("#unlock")  # type: ignore[attr-defined]
    page.wait_for_selector("#unlock-result.ok")  # type: ignore[attr-defined]


def take(url: str, keystore: Path, out: Path, consumer: str = "consumer", provider: str = "provider",
         audit_url: str | None = None) -> list[Path]:
    """Take the pictures; returns their paths."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            def context(lang: str) -> object:
                ctx = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1,
                                          locale="zh-CN" if lang == "zh" else "en-GB")
                ctx.set_default_timeout(30_000)
                page = ctx.new_page()
                page.goto(f"{url}/console/lang/{lang}?next=/console/")
                return page

            def shot(page: object, name: str, full: bool = True) -> None:
                path = out / name
                page.screenshot(path=str(path), full_page=full)  # type: ignore[attr-defined]
                shots.append(path)

            zh = context("zh")
            shot(zh, "console-catalog-zh.png")
            first = zh.locator("#results a.title").first  # type: ignore[attr-defined]
            href = first.get_attribute("href") if first.count() else None
            en = context("en")
            if href:
                en.goto(url + href)  # type: ignore[attr-defined]
                shot(en, "console-asset-en.png")
            _unlock(en, url, keystore, consumer)
            en.goto(f"{url}/console/consumer")  # type: ignore[attr-defined]
            en.wait_for_selector("#receipts tbody tr")  # type: ignore[attr-defined]
            proof = en.locator("#receipts button.proof").first  # type: ignore[attr-defined]
            if proof.count():
                proof.click()
                en.locator("#receipts button.verify").first.click()  # type: ignore[attr-defined]
                en.wait_for_selector("#proof-verdict.valid, #proof-verdict.invalid")  # type: ignore[attr-defined]
                en.locator("#proof-verdict").scroll_into_view_if_needed()  # type: ignore[attr-defined]
            shot(en, "console-consumer-proof-en.png")
            if proof.count():
                path = out / "console-proof-check-en.png"  # the check alone, for the README
                en.locator("section.verify").screenshot(path=str(path))  # type: ignore[attr-defined]
                shots.append(path)
            _unlock(zh, url, keystore, provider)
            zh.goto(f"{url}/console/provider")  # type: ignore[attr-defined]
            zh.wait_for_selector("#issued tbody tr")  # type: ignore[attr-defined]
            zh.wait_for_selector("#usage-charts figure, #usage-charts p")  # type: ignore[attr-defined]
            shot(zh, "console-provider-zh.png")
            if audit_url:  # the operator's and auditor's console (tds console serve)
                zh.goto(f"{audit_url}/console/lang/zh?next=/console/")  # type: ignore[attr-defined]
                shot(zh, "console-audit-timeline-zh.png", full=False)
                en.goto(f"{audit_url}/console/lang/en?next=/console/findings")  # type: ignore[attr-defined]
                shot(en, "console-audit-findings-en.png", full=False)
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="the gateway's base URL (its console is under /console)")
    ap.add_argument("--keystore", required=True, type=Path, help="the keystore folder (<home>/keystore)")
    ap.add_argument("--out", required=True, type=Path, help="where the PNG files go")
    ap.add_argument("--consumer", default="consumer")
    ap.add_argument("--provider", default="provider")
    ap.add_argument("--audit-url", default=None, help="a running `tds console serve` (its pages are taken too)")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"console screenshots: no browser at {CHROMIUM} (apt-get install chromium); none taken", file=sys.stderr)
        return 3
    audit = args.audit_url.rstrip("/") if args.audit_url else None
    for path in take(args.url.rstrip("/"), args.keystore, args.out, args.consumer, args.provider, audit):
        print(f"screenshot: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
