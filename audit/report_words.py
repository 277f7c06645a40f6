"""Histories in the reader's language: the sentences of a timeline, and the words of the code's vocabulary.

:mod:`audit.queries` writes each timeline entry's ``summary`` in English (it is part of the JSON). A page in
another language needs the same sentence from the facts themselves: :func:`asset_sentences` and
:func:`participant_sentences` rebuild every entry's sentence through the ``report`` catalog, with dates and
numbers per locale. In English they give back the summaries as written (a unit test holds the two together),
so a reader of either language learns the same thing.

    say = asset_sentences(history, "zh")
    say(entry)                # "由 did:pkh:…:0x… 登记，2,048 字节"; the English summary when nothing matches
    term("not_yet_valid", "zh")  -> "尚未生效"; in English "not yet valid"
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import i18n
from audit.queries import (
    ANCHOR_KINDS, AlgorithmApproval, AssetHistory, At, BudgetSetting, DisputeEntry, GrantEntry, ParticipantHistory,
    Settlement, TimelineEntry, did, epsilon_text,
)
from domain.terms import human_time

Gettext = Callable[[str], str]
Say = Callable[[TimelineEntry], str]


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


TERMS = frozenset((
    # grant states and liveness
    N_("live"), N_("revoked"), N_("expired"), N_("not yet valid"), N_("unknown"),
    # price models
    N_("free"), N_("prepaid"), N_("pay-after-use"), N_("subscription"), N_("none"),
    # disputes: subjects, status, rulings
    N_("grant"), N_("settlement"), N_("open"), N_("ruled"), N_("refused"), N_("upheld"), N_("refund"),
    # receipts and jobs
    N_("allow"), N_("deny"), N_("pending"), N_("accepted"), N_("anchored"), N_("queued"), N_("running"),
    N_("succeeded"), N_("failed"), N_("cancelled"), N_("timed out"),
    # roles and participant status
    N_("provider"), N_("consumer"), N_("auditor"), N_("active"), N_("suspended"),
    # timeline kinds
    N_("registered"), N_("version"), N_("policy"), N_("grant issued"), N_("grant revoked"), N_("grant accepted"),
    N_("escrow locked"), N_("escrow released"), N_("refunded"), N_("settled"), N_("dispute opened"),
    N_("dispute ruled"), N_("deactivated"), N_("algorithm approved"), N_("algorithm rejected"), N_("privacy budget"),
    N_("onboarded"), N_("reinstated"),
))
"""The words of the code's vocabulary that pages show (a state, a kind, a role), as catalog ids."""


def gettext_of(lang: str) -> Gettext:
    """The ``report`` catalog's gettext in ``lang`` (English: the ids themselves)."""
    return i18n.translations(lang, "report").gettext


def term(word: str, lang: str) -> str:
    """A word of the code (``not_yet_valid``, ``pay-after-use``) for people: ``not yet valid`` / ``尚未生效``."""
    text = str(word).replace("_", " ")
    return gettext_of(lang)(text) if text in TERMS else text


def number(value: int, lang: str) -> str:
    """``12,345`` (both languages group by thousands)."""
    return f"{int(value):,}" if lang == i18n.DEFAULT else i18n.format_number(int(value), lang)


def moment(ts: int, lang: str) -> str:
    """``2025-01-31 12:00:00 UTC`` (ISO, as English pages have always written it) / ``2025年1月31日 12:00:00 UTC``."""
    return human_time(ts) if lang == i18n.DEFAULT else i18n.format_datetime(ts, lang)


Entry = tuple[At, str, str, str]  # where, kind, ref, sentence


class _Words:
    """The sentences of one history in one language."""

    def __init__(self, lang: str, chain_id: int | None) -> None:
        self.lang = lang
        self.t = gettext_of(lang)
        self.chain_id = chain_id

    def _(self, message: str, **values: Any) -> str:
        """``message`` in this language, its ``{placeholders}`` filled in."""
        return self.t(message).format(**values)

    def who(self, address: str) -> str:
        return did(self.chain_id, address)

    def most(self, n: int) -> str:
        return str(n) if n else self._("unlimited")

    def grants(self, grants: Iterable[GrantEntry]) -> list[Entry]:
        out: list[Entry] = []
        for g in grants:
            out.append((g.issued, "grant_issued", g.grant_id, self._(
                "grant to {who} for purpose {purpose}, max {max}", who=self.who(g.consumer),
                purpose=json.dumps(g.purpose, ensure_ascii=False), max=self.most(g.max_count))))
            if g.revoked:
                out.append((g.revoked.at, "grant_revoked", g.grant_id,
                            self._("grant revoked by {who}", who=self.who(g.revoked.by))))
            if g.acceptance:
                out.append((g.acceptance.at, "grant_accepted", g.grant_id, self._(
                    "accepted by its provider {who} under policy epoch {epoch}", who=self.who(g.acceptance.provider),
                    epoch=g.acceptance.policy_epoch)))
            if g.escrow:
                out.append((g.escrow.at, "escrow_locked", g.grant_id, self._(
                    "{locked} locked in escrow ({model}, price {price})", locked=g.escrow.locked,
                    model=term(g.escrow.price_model, self.lang), price=g.escrow.price)))
                out += [(r.at, "escrow_released", g.grant_id, self._(
                    "{amount} of the escrow released to the consumer by {who}", amount=r.amount, who=self.who(r.by)))
                    for r in g.escrow.releases]
            out += [(r.at, "refunded", r.grant_id, self._(
                "{amount} refunded to {who} ({from_lock} from the lock, {from_provider} from the provider's earnings)",
                amount=r.amount, who=self.who(r.consumer), from_lock=r.from_lock, from_provider=r.from_provider))
                for r in g.refunds]
        return out

    def settled(self, x: Settlement) -> str:
        values = {"units": x.units, "free": x.free_units, "amount": x.amount,
                  "start": moment(x.period_start, self.lang), "end": moment(x.period_end, self.lang)}
        if x.per_use:
            return self._("{units} uses ({free} free) settled for {amount}, period {start} to {end}", **values)
        return self._("{units} periods ({free} free) settled for {amount}, period {start} to {end}", **values)

    def disputes(self, found: Iterable[DisputeEntry]) -> list[Entry]:
        out: list[Entry] = []
        for d in found:
            subject = self._("the grant") if d.subject == "grant" else self._("the settlement")
            out.append((d.opened, "dispute_opened", d.grant_id, self._(
                "dispute {id} on {subject} opened by {who}", id=d.dispute_id, subject=subject,
                who=self.who(d.opened_by))))
            if d.ruled:
                text = self._("dispute {id} ruled: {ruling}", id=d.dispute_id, ruling=term(d.ruling or "", self.lang))
                if d.refund:
                    text += self._(", {amount} refunded", amount=d.refund)
                out.append((d.ruled, "dispute_ruled", d.grant_id, text))
        return out

    def approval(self, ap: AlgorithmApproval) -> str:
        if ap.approved:
            return self._("algorithm {algorithm} approved to run on this asset by {who}", algorithm=ap.algorithm_id,
                          who=self.who(ap.by))
        return self._("approval of algorithm {algorithm} withdrawn by {who}", algorithm=ap.algorithm_id,
                      who=self.who(ap.by))

    def budget(self, b: BudgetSetting) -> str:
        values = {"epsilon": epsilon_text(b.epsilon_micros), "who": self.who(b.by)}
        if b.epsilon_micros:
            return self._("per-grant privacy budget set to epsilon {epsilon} by {who}", **values)
        return self._("per-grant privacy budget set to epsilon {epsilon} (no private release) by {who}", **values)

    def anchored(self, summary: str) -> str | None:
        """An anchor of a participant's timeline, from the one format audit.queries writes (None: not that)."""
        found = _ANCHORED.fullmatch(summary)
        if found is None:
            return None
        n, kind, notary, provider = found.groups()
        what = self.t(ANCHOR_KIND_WORDS[kind]) if kind in ANCHOR_KIND_WORDS else kind
        text = self._("anchored a root of {n} {kind}", n=number(int(n.replace(",", "")), self.lang), kind=what)
        if notary:
            text += self._(" (sent by its notary key {who})", who=notary)
        elif provider:
            text += self._(" for {who} (as its notary key)", who=provider)
        return text


def _say(entries: list[Entry]) -> Say:
    found = {(at, kind, ref): text for at, kind, ref, text in entries}
    return lambda e: found.get((e.at, e.kind, e.ref), e.summary)


def asset_sentences(h: AssetHistory, lang: str) -> Say:
    """Each timeline entry of an asset's history as a sentence in ``lang``."""
    w = _Words(lang, h.chain_id)
    a = h.asset
    out: list[Entry] = [(a.registered, "registered", a.asset_id, w._(
        "registered by {who}, {size} bytes", who=w.who(a.provider), size=number(a.size, lang)))]
    out += [(v.at, "version", v.asset_id, w._("version {n}: {asset_id}", n=v.version, asset_id=v.asset_id))
            for v in h.versions if v.asset_id != a.asset_id]
    out += [(p.at, "policy", str(p.epoch), w._(
        "policy epoch {epoch}: max {max}, price {price} ({model})", epoch=p.epoch, max=w.most(p.max_count),
        price=p.price_per_access, model=term(p.price_model, lang))) for p in h.policies]
    out += w.grants(h.grants)
    out += [(x.at, "settled", x.grant_id, w.settled(x)) for x in h.settlements]
    out += w.disputes(h.disputes)
    if a.deactivated:
        out.append((a.deactivated, "deactivated", a.asset_id, w._("deactivated by its provider")))
    out += [(ap.at, "algorithm_approved" if ap.approved else "algorithm_rejected", ap.algorithm_id, w.approval(ap))
            for ap in h.approvals]
    out += [(b.at, "privacy_budget", b.asset_id, w.budget(b)) for b in h.budgets]
    return _say(out)


def participant_sentences(h: ParticipantHistory, lang: str) -> Say:
    """Each timeline entry of a participant's history as a sentence in ``lang``."""
    w = _Words(lang, h.chain_id)
    kinds = {"onboarded": N_("onboarded by {who}"), "suspended": N_("suspended by {who}"),
             "reinstated": N_("reinstated by {who}")}
    out: list[Entry] = [(m.at, m.kind, h.address, w.t(kinds[m.kind]).format(who=w.who(m.by)))
                        for m in h.events if m.kind in kinds]
    say = _say(out + w.grants(h.grants_as_consumer))
    return lambda e: (w.anchored(e.summary) if e.kind == "anchored" else None) or say(e)


ANCHOR_KIND_WORDS = {ANCHOR_KINDS[1]: N_("receipts"), ANCHOR_KINDS[2]: N_("asset hashes")}
# the summary audit.queries writes for an anchor in a participant's timeline (one fixed format)
_ANCHORED = re.compile(r"anchored a root of ([0-9,]+) (.+?)(?: \(sent by its notary key (\S+)\)| for (\S+) "
                       r"\(as its notary key\))?")
