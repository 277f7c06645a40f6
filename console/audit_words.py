"""What happened, in words, for the operator's and auditor's pages (the ``audit`` catalog).

A chain event becomes a sentence whose placeholders are parts a page renders as links or codes::

    for part in event_sentence(row, lang):
        str  -> text (escaped by the template)
        Ref  -> a participant / asset / grant / hash: a link or a <code>, its full value in the title

The sentence is translated first and split at its ``{placeholders}`` afterwards, so a translation may put the
values in any order. :data:`FINDINGS` says, for every ``tds audit check`` code, what the finding means and how to
fix it (the finding's own message, in English, carries the detail: ids, counts, amounts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import i18n
from audit.queries import DISPUTE_RULINGS, DISPUTE_SUBJECTS, epsilon_text, price_model_label
from domain.types import Role

DOMAINS = ("audit", "console")


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


def gettext_of(lang: str) -> Callable[[str], str]:
    """The console's audit pages' gettext in ``lang`` (audit catalog, then console's)."""
    return i18n.translator(lang, DOMAINS).gettext


@dataclass(frozen=True)
class Ref:
    """A value a sentence names: ``kind`` is participant, asset, grant, hash or text."""

    kind: str
    value: str
    label: str = ""


Part = str | Ref
TitleOf = Callable[[str], "str | None"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, values: Mapping[str, Part]) -> list[Part]:
    """``template`` (translated) split at its placeholders, each replaced by its value."""
    out: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            out.append(template[pos:m.start()])
        out.append(values.get(m.group(1), m.group(0)))
        pos = m.end()
    if pos < len(template):
        out.append(template[pos:])
    return out


ROLE_WORDS = {"provider": N_("provider"), "consumer": N_("consumer"), "auditor": N_("auditor")}
STATUS_WORDS = {"active": N_("active"), "suspended": N_("suspended"), "none": N_("not onboarded")}
SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning"), "info": N_("note")}


def roles_text(bits: int | None, lang: str) -> str:
    """``provider, consumer`` / ``数据提供方、数据使用方``."""
    _ = gettext_of(lang)
    names = [_(ROLE_WORDS[n]) for n in Role(bits or 0).names() if n in ROLE_WORDS]
    return ("、" if lang == "zh" else ", ").join(names) or "—"


def word(table: Mapping[str, str], key: str, lang: str) -> str:
    """``key`` of one of the word tables, in ``lang`` (the key itself when the table does not know it)."""
    return gettext_of(lang)(table[key]) if key in table else key


# ---- the space's timeline: one sentence per event ------------------------------------------------------

EVENTS: dict[str, str] = {
    "ParticipantOnboarded": N_("{by} onboarded {account} as {roles} in {jurisdiction}"),
    "ParticipantSuspended": N_("{by} suspended {account}"),
    "ParticipantReinstated": N_("{by} reinstated {account}"),
    "AssetRegistered": N_("{provider} registered data product {asset} ({size} bytes)"),
    "AssetVersionRegistered": N_("{asset} registered as version {version} of {previous}"),
    "AssetDeactivated": N_("{by} deactivated data product {asset}"),
    "PolicySet": N_("usage policy epoch {epoch} set on {asset}: {uses}, purposes {purposes}, jurisdictions {places}"),
    "PricingSet": N_("price model of {asset} (epoch {epoch}): {model}"),
    "GrantIssued": N_("digital contract {grant} issued to {consumer} on {asset} for purpose {purpose}, up to {uses}"),
    "GrantAccepted": N_("{provider} accepted digital contract {grant} (its signature on-chain)"),
    "GrantRevoked": N_("{by} revoked digital contract {grant} on {asset}"),
    "RootAnchored": N_("{anchorer} anchored a root of {n} {what} for {provider}: {root}"),
    "NotaryRegistered": N_("{provider} registered notary key {notary}"),
    "NotaryRevoked": N_("{provider} revoked notary key {notary}"),
    "UsageSettled": N_("{units} uses of {grant} on {asset} settled for {amount} (receipts root {root})"),
    "RevenuePaid": N_("{owner} received {amount} from {grant} as an owner of {asset}"),
    "EscrowLocked": N_("{amount} locked in escrow for {grant} by {consumer}"),
    "EscrowReleased": N_("{amount} of the escrow of {grant} released to {consumer}"),
    "Refunded": N_("{from_lock} from the lock and {from_provider} from the provider's earnings refunded to {consumer} "
                   "for {grant}"),
    "Deposited": N_("{consumer} deposited {amount}"),
    "Withdrawn": N_("{account} withdrew {amount}"),
    "AccountFrozen": N_("settlement of {grant} frozen: {frozen}"),
    "SettlementDeferred": N_("settlement of {grant} deferred (a dispute is open)"),
    "RoyaltySet": N_("lineage royalty set to {percent}"),
    "DisputeOpened": N_("{by} opened dispute {dispute} on {subject} of {grant}"),
    "EvidenceSubmitted": N_("{party} submitted evidence {evidence} to dispute {dispute}"),
    "Evidence": N_("{party} published evidence {uri} for dispute {dispute}"),
    "DisputeRuled": N_("dispute {dispute} on {grant} ruled: {ruling}, {amount} refunded"),
    "Dispute": N_("dispute {dispute} handed to arbitrator {arbitrator}"),
    "Ruling": N_("arbitrator {arbitrator} gave ruling {ruling} on dispute {dispute}"),
    "ArbitratorSet": N_("arbitrator set to {arbitrator}"),
    "SettlementBound": N_("settlement contract bound: {settlement}"),
    "AlgorithmApproved": N_("{provider} approved algorithm {algorithm} on {asset}"),
    "AlgorithmRejected": N_("{provider} withdrew the approval of algorithm {algorithm} on {asset}"),
    "PrivacyBudgetSet": N_("{provider} set the per-grant privacy budget of {asset} to epsilon {epsilon}"),
}
"""A sentence per TDS event; other events (tokens, access control) are named with their arguments."""
OTHER_EVENT = N_("{contract} emitted {event}")
ANCHORED_BY_ITSELF = N_("{provider} anchored a root of {n} {what}: {root}")
RULING_WORDS = {"refused": N_("refused"), "upheld": N_("upheld"), "refund": N_("refund")}
SUBJECT_WORDS = {"grant": N_("the digital contract"), "settlement": N_("the settlement")}
ANCHOR_WORDS = {1: N_("receipts"), 2: N_("asset hashes")}
PRICE_WORDS = {"free": N_("free"), "prepaid": N_("prepaid"), "pay-after-use": N_("pay after use"),
               "subscription": N_("subscription")}


def event_sentence(name: str, contract: str, args: Mapping[str, Any], lang: str,
                   title_of: TitleOf | None = None) -> list[Part]:
    """The sentence of one indexed event (``EventRow``'s ``name``, ``contract`` and decoded ``args``)."""
    _ = gettext_of(lang)
    template = EVENTS.get(name)
    if template is None:
        return fill(_(OTHER_EVENT), {"contract": contract, "event": Ref("text", name)})
    if name == "RootAnchored" and str(args.get("anchorer", "")).lower() == str(args.get("provider", "")).lower():
        template = ANCHORED_BY_ITSELF  # not through a notary key: one party
    return fill(_(template), _values(name, args, lang, title_of))


_PARTIES = {"account": "account", "by": "by", "provider": "provider", "consumer": "consumer", "owner": "owner",
            "anchorer": "anchorer", "notary": "notary", "party": "party", "_party": "party", "openedBy": "by"}
_ASSETS = {"assetId": "asset", "previousId": "previous", "algorithmId": "algorithm"}
_HASHES = {"root": "root", "receiptsRoot": "root", "evidenceHash": "evidence", "credentialHash": "credential",
           "settlement": "settlement", "arbitrator": "arbitrator", "_arbitrator": "arbitrator"}
_NUMBERS = {"size": "size", "version": "version", "epoch": "epoch", "units": "units", "leafCount": "n",
            "disputeId": "dispute", "_disputeID": "dispute", "_evidenceGroupID": "dispute", "amount": "amount",
            "locked": "amount", "refund": "amount", "fromLock": "from_lock", "fromProvider": "from_provider"}


def _values(name: str, a: Mapping[str, Any], lang: str, title_of: TitleOf | None) -> dict[str, Part]:
    """The placeholders of an event's sentence: parties, assets, grants and hashes as refs, numbers per locale,
    codes in words."""
    _ = gettext_of(lang)
    out: dict[str, Part] = {}
    for key, value in a.items():
        if key in _PARTIES and isinstance(value, str):
            out[_PARTIES[key]] = Ref("participant", value)
        elif key in _ASSETS and isinstance(value, str):
            out[_ASSETS[key]] = Ref("asset", value.lower(), (title_of(value.lower()) if title_of else None) or "")
        elif key == "grantId" and isinstance(value, str):
            out["grant"] = Ref("grant", value.lower())
        elif key in _HASHES and isinstance(value, str):
            out[_HASHES[key]] = Ref("hash", value)
        elif key in _NUMBERS and isinstance(value, int) and not isinstance(value, bool):
            out[_NUMBERS[key]] = i18n.format_number(value, lang)
    out.update(_words(name, a, lang, _))
    return out


def _words(name: str, a: Mapping[str, Any], lang: str, _: Callable[[str], str]) -> dict[str, Part]:
    """The placeholders that are codes or lists, in words."""
    count = int(a.get("maxCount") or 0)
    if name == "ParticipantOnboarded":
        return {"roles": roles_text(int(a.get("roles") or 0), lang), "jurisdiction": _text2(str(a.get("jurisdiction")))}
    if name == "PolicySet":
        return {"uses": _("{n} uses per grant").format(n=i18n.format_number(count, lang)) if count
                else _("no use limit"),
                "purposes": ", ".join(map(str, a.get("purposes") or ())) or _("any"),
                "places": ", ".join(_text2(str(j)) for j in a.get("jurisdictions") or ()) or _("any")}
    if name == "PricingSet":
        return {"model": word(PRICE_WORDS, price_model_label(int(a.get("priceModel") or 0)), lang)}
    if name == "GrantIssued":
        return {"purpose": Ref("text", str(a.get("purpose", ""))),
                "uses": _("{n} uses").format(n=i18n.format_number(count, lang)) if count else _("no use limit")}
    if name == "RootAnchored":
        kind = int(a.get("kind") or 0)
        return {"what": _(ANCHOR_WORDS[kind]) if kind in ANCHOR_WORDS else str(kind)}
    if name == "AccountFrozen":
        return {"frozen": _("yes") if a.get("frozen") else _("no (thawed)")}
    if name == "RoyaltySet":
        return {"percent": f"{int(a.get('royaltyBps') or 0) / 100:g} %"}
    if name == "DisputeOpened":
        subject = int(a.get("subject") or 0)
        return {"subject": word(SUBJECT_WORDS, DISPUTE_SUBJECTS[subject] if subject < len(DISPUTE_SUBJECTS)
                                else str(subject), lang)}
    if name == "DisputeRuled":
        ruling = int(a.get("ruling") or 0)
        return {"ruling": word(RULING_WORDS, DISPUTE_RULINGS[ruling] if ruling < len(DISPUTE_RULINGS)
                               else str(ruling), lang)}
    if name == "Ruling":
        return {"ruling": str(a.get("_ruling"))}
    if name == "Evidence":
        return {"uri": Ref("text", str(a.get("_evidence", "")))}
    if name == "PrivacyBudgetSet":
        return {"epsilon": epsilon_text(int(a.get("epsilonMicros") or 0))}
    return {}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _text2(code: str) -> str:
    """bytes2 hex (``0x4445``) -> ``DE``."""
    try:
        return bytes.fromhex(code[2:]).decode("ascii", errors="replace").strip("\0") if code.startswith("0x") else code
    except ValueError:
        return code


def args_of(text: str) -> dict[str, Any]:
    """An ``EventRow.args`` JSON text as a dict (an empty one when it is not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ---- tds audit check: what each finding means and how to fix it ------------------------------------------

FINDINGS: dict[str, tuple[str, str]] = {
    "receipt_proof_invalid": (
        N_("A receipt's proof does not prove that receipt."),
        N_("Ask the provider for the proof again (GET /receipts/{id}/proof); a proof that still fails means the "
           "receipt was altered: do not count that use.")),
    "receipt_wrong_anchorer": (
        N_("A receipts root was anchored only by someone other than the provider of its receipts' asset (or a "
           "notary key it registered): those receipts prove nothing."),
        N_("The provider must anchor the root itself (tds notary run) or register its notary key; treat the "
           "receipts as unproven until then.")),
    "duplicate_receipt_id": (
        N_("Two different receipts carry the same receipt id."),
        N_("The gateway's ledger is inconsistent: ask the provider to explain; count neither receipt until it "
           "does.")),
    "access_without_grant": (
        N_("An allowed access names a digital contract that was never issued."),
        N_("Report the provider's gateway to the operator: it served data without a grant.")),
    "grant_mismatch": (
        N_("The access's digital contract belongs to another consumer or another data product."),
        N_("Report the gateway to the operator: it let one party use another's grant.")),
    "grant_not_issued_yet": (
        N_("The access is dated before the block that issued its digital contract."),
        N_("Check the gateway's clock and its grant checks; the use was not covered when it happened.")),
    "grant_revoked": (
        N_("The access is dated at or after its digital contract was revoked."),
        N_("The gateway kept serving a revoked grant: the provider must fix its chain view; the consumer may "
           "dispute any charge for it.")),
    "grant_outside_window": (
        N_("The access falls outside its digital contract's window (not before / not after)."),
        N_("The gateway must refuse outside the window; a charged use outside it can be disputed.")),
    "grant_overused": (
        N_("More allowed accesses (or settled units) than the digital contract's maximum count."),
        N_("The provider must stop serving at the count; the consumer may dispute the uses over it.")),
    "root_mismatch": (
        N_("An anchored receipts root does not rebuild from its receipts."),
        N_("Some receipts were changed, left out or added after anchoring: ask the provider for the full batch "
           "and check again.")),
    "root_not_anchored": (
        N_("A proof in state 'anchored' names a root the chain never anchored."),
        N_("The proof document is wrong or forged: fetch it again from the gateway.")),
    "file_tampered": (
        N_("A stored file no longer matches its on-chain hash."),
        N_("Restore the file from a good copy (its SHA-256 must equal the asset id); no consumer should get the "
           "altered bytes.")),
    "duplicate_receipt": (
        N_("The same receipt appears twice in the receipts file."),
        N_("Nothing to fix on-chain: it is counted once. Export the receipts again to get a clean file.")),
    "receipt_not_anchored": (
        N_("A receipt has no proof yet, or its batch is not anchored yet."),
        N_("Wait for the notary's next batch (tds notary run), then export the receipts again.")),
    "root_without_receipts": (
        N_("An anchored receipts root has none of its receipts in the file."),
        N_("Export the receipts of that gateway (tds audit receipts) and check with them.")),
    "root_anchored_by_other": (
        N_("A receipts root was also anchored for a provider none of whose receipts are under it: that anchor is "
           "ignored."),
        N_("Nothing to fix for the provider; the other party's anchor proves nothing about these receipts.")),
    "no_receipts_verified": (
        N_("Receipts roots are anchored, but not one receipt was verified against them."),
        N_("Start the console (or tds audit check) with the gateway's receipts: --receipts FILE.jsonl from tds "
           "audit receipts.")),
    "settled_beyond_evidence": (
        N_("More uses were settled than the anchored receipts show."),
        N_("Ask the provider for the missing receipts; the consumer may dispute the settlement.")),
    "settled_units_mismatch": (
        N_("A settled period's units are not the allowed receipts of its digital contract in that period."),
        N_("The settlement is wrong: the consumer should open a dispute on it; the operator rules.")),
    "usage_root_not_anchored": (
        N_("A settlement's receipts root is not anchored for the data product's provider."),
        N_("The provider must anchor its receipts before settling; dispute the settlement until it does.")),
    "usage_root_mismatch": (
        N_("The period's receipts of the settled digital contracts do not rebuild the settlement's root."),
        N_("The settlement does not match the evidence: open a dispute on it.")),
    "settled_units_unchecked": (
        N_("No receipts of the provider's data products were supplied: settled units were not checked."),
        N_("Start the console with the gateway's receipts (--receipts FILE.jsonl) to check them.")),
    "payout_sum_mismatch": (
        N_("A settlement's payouts do not add up to its amount."),
        N_("Report it to the operator: the Settlement contract or the index is not what TDS deployed.")),
    "payout_split_mismatch": (
        N_("The payouts are not the registered owners' shares and the lineage royalty."),
        N_("Report it to the operator with the settlement's transaction; the revenue sharing was not applied as "
           "registered.")),
    "payout_unchecked": (
        N_("The royalty in force is not in the index: the payout split was not checked."),
        N_("Index from the deployment block (delete the index and let it rebuild) so RoyaltySet is seen.")),
    "settled_while_disputed": (
        N_("A period of a digital contract was settled while a dispute on it was open."),
        N_("The operator should rule on the dispute and refund if the settlement was wrong.")),
    "acceptance_missing": (
        N_("A digital contract has no acceptance signed by its data product's provider."),
        N_("The grant lacks the provider's signature: treat it as one-sided and ask the operator.")),
    "acceptance_invalid": (
        N_("The acceptance is not the provider's EIP-712 signature over the digital contract."),
        N_("The grant's second signature is forged or from another key: report it to the operator.")),
    "consumer_signature_invalid": (
        N_("The digital contract's request does not hash to its id, or is not signed by its consumer."),
        N_("The consumer never agreed to these terms: report it to the operator and dispute any charge.")),
    "signatures_unchecked": (
        N_("The UsageGrants address is unknown: signatures were not verified."),
        N_("Start the console where the deployment can be read (the chain node answers) to verify them.")),
    "job_evidence_mismatch": (
        N_("A compute job's evidence does not hash to its receipt, or names another grant, asset or consumer."),
        N_("The job's record is not what the gateway anchored: ask the provider; do not trust its result.")),
    "job_algorithm_not_approved": (
        N_("A compute job ran an algorithm the provider had not approved on the data product at the time."),
        N_("Report the gateway: it must refuse unapproved algorithms; the consumer may dispute the charge.")),
    "privacy_budget_exceeded": (
        N_("A digital contract's compute jobs spent more epsilon than the privacy budget in force."),
        N_("The gateway must stop jobs at the budget; the released results weaken privacy: tell the provider.")),
    "jobs_unchecked": (
        N_("Allowed receipts of compute-only data products carry no job evidence: not checked as jobs."),
        N_("Export the receipts with their job evidence (tds audit receipts) and check with them.")),
}
"""code -> (what it means, how to fix it)."""


def finding_words(code: str, lang: str) -> tuple[str, str]:
    """What a finding means and the fix, in ``lang`` (an unknown code: two dashes)."""
    _ = gettext_of(lang)
    if code not in FINDINGS:
        return "—", "—"
    what, fix = FINDINGS[code]
    return _(what), _(fix)
