"""EIP-712 signed consumer calls, bound to one gateway.

Every consumer call carries five headers::

    X-TDS-Address    the signer's address (checksummed or lower case)
    X-TDS-Gateway    the gateway id the call was signed for (0x + 64 hex, from GET /eip712)
    X-TDS-Nonce      a decimal uint256, never reused by this signer
    X-TDS-Expiry     unix seconds (uint32); at most ``max_request_ttl_s`` ahead
    X-TDS-Signature  0x + 65-byte canonical signature (low s, v 27/28) over the typed data below

The signed message is ``GatewayRequest(address provider,bytes32 gateway,string method,string path,
bytes32 bodyHash,uint256 nonce,uint32 expiry)`` in the domain ``{name: "TDS Gateway", version: "2",
chainId, verifyingContract: <UsageGrants address>}``. ``provider`` and ``gateway`` identify the one
gateway the call is for (see :class:`chain.eip712.GatewayDomain`): the gateway id is keccak256 of the gateway's
name, its configured ``gateway_id`` or else its public URL, so replicas behind one URL share it and
every other gateway differs. ``path`` is the raw request target (path plus ``?query`` if any) and
``bodyHash`` is keccak256 of the raw body (keccak256 of no bytes for GET).

A gateway refuses a call whose X-TDS-Gateway is not its own with ``wrong_gateway`` (421) before it
reads the chain or uses the nonce; a call whose header was changed to this gateway's id fails the
signature check, since the signature binds the id.

Session tokens (for repeated calls): a signed ``POST /session`` returns a short-lived bearer token
bound to the signer's address, sent as ``Authorization: Bearer tds1.<...>``. A token is an
HMAC-SHA256 (key derived from the gateway master key, per chain, UsageGrants contract and gateway
id) over (version, address, expiry, random id); nothing is stored, and no other gateway can verify
it. It saves the signature recovery and the nonce write; membership is still checked at every
call's head block, so a suspended participant's token is refused from the next block on. A token
cannot renew itself: ``POST /session`` must be signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eth_utils import to_checksum_address

from chain.eip712 import GatewayDomain, body_hash, gateway_typed_data, recover_signer, signature_problem
from domain.types import Participant, ParticipantStatus, Role
from domain.ids import is_address, is_bytes32, is_signature
from chain.view import ChainView
from gateway.db import Database
from gateway.errors import (
    BadSignature,
    NonCanonicalSignature,
    NonceReplayed,
    NotMember,
    ParticipantSuspended,
    RequestExpired,
    SessionExpired,
    SessionInvalid,
    SignatureMissing,
    WrongGateway,
)

H_ADDRESS, H_NONCE, H_EXPIRY, H_SIGNATURE = "x-tds-address", "x-tds-nonce", "x-tds-expiry", "x-tds-signature"
H_GATEWAY = "x-tds-gateway"
_UINT = re.compile(r"[0-9]{1,78}", re.ASCII)


@dataclass(frozen=True)
class SignedCall:
    """The signature headers of one call, parsed (not yet verified)."""

    address: str
    nonce: int
    expiry: int
    signature: str
    method: str
    path: str
    body_digest: bytes
    gateway: str = ""  # the X-TDS-Gateway the caller signed for (0x + 64 hex, lower case)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], method: str, path: str, body: bytes) -> "SignedCall":
        """Parse the X-TDS-* headers; SignatureMissing if absent, BadSignature if malformed."""
        names = (H_ADDRESS, H_GATEWAY, H_NONCE, H_EXPIRY, H_SIGNATURE)
        values = {h: headers.get(h) for h in names}
        if not all(values.values()):
            missing = ", ".join(h for h, v in values.items() if not v)
            raise SignatureMissing(f"unsigned request: missing {missing} (see GET /eip712)")
        address, gateway, nonce, expiry, signature = (str(values[h]).strip() for h in names)
        if not is_address(address) or not is_signature(signature):
            raise BadSignature("malformed X-TDS-Address or X-TDS-Signature")
        if not is_bytes32(gateway):
            raise BadSignature("X-TDS-Gateway must be the gateway id from GET /eip712 (0x + 64 hex digits)")
        if not _UINT.fullmatch(nonce) or not _UINT.fullmatch(expiry) or int(nonce) >= 2**256 or int(expiry) >= 2**32:
            raise BadSignature("X-TDS-Nonce must be a uint256 and X-TDS-Expiry a uint32, in decimal")
        return cls(to_checksum_address(address), int(nonce), int(expiry), signature, method.upper(), path,
                   body_hash(body), gateway.lower())


SESSION_PREFIX = "tds1."
_SESSION_VERSION = b"\x01"
_SESSION_PAYLOAD = 1 + 20 + 4 + 15  # version, address, expiry (uint32), random id (+ MAC: 72 bytes, no padding)
_SESSION_MAC = 32
_SESSION_B64 = re.compile(r"[A-Za-z0-9_-]{%d}" % ((_SESSION_PAYLOAD + _SESSION_MAC) * 4 // 3), re.ASCII)


@dataclass(frozen=True)
class Session:
    """A verified (or freshly issued) session token."""

    address: str
    expires_at: int
    token: str


class SessionKeys:
    """Issues and verifies stateless bearer session tokens (HMAC-SHA256, constant-time compare)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("session key must be at least 32 bytes")
        self._key = bytes(key)
        self._clock = clock

    @classmethod
    def for_gateway(cls, derive: Callable[[bytes], bytes], domain: GatewayDomain) -> "SessionKeys":
        """Keys bound to one gateway (``derive`` = the master key's HKDF): chain, contract and gateway id,
        so a token verifies only at the gateway that issued it (and its replicas)."""
        label = b"session/v2/%d/%s/%s" % (domain.chain_id, domain.usage_grants.lower().encode(),
                                          domain.gateway_id.lower().encode())
        return cls(derive(label))

    def issue(self, address: str, ttl_s: int) -> Session:
        """A token for ``address`` expiring ``ttl_s`` seconds from now."""
        expires_at = int(self._clock()) + ttl_s
        payload = (_SESSION_VERSION + bytes.fromhex(address[2:]) + expires_at.to_bytes(4, "big")
                   + secrets.token_bytes(15))
        token = SESSION_PREFIX + base64.urlsafe_b64encode(payload + self._mac(payload)).decode().rstrip("=")
        return Session(to_checksum_address(address), expires_at, token)

    def verify(self, token: str) -> Session:
        """The session a token stands for; SessionInvalid if forged or malformed, SessionExpired if old."""
        body = token[len(SESSION_PREFIX):] if token.startswith(SESSION_PREFIX) else ""
        if not _SESSION_B64.fullmatch(body):
            raise SessionInvalid("malformed session token (POST /session for one)")
        raw = base64.urlsafe_b64decode(body)
        payload, mac = raw[:_SESSION_PAYLOAD], raw[_SESSION_PAYLOAD:]
        if not hmac.compare_digest(mac, self._mac(payload)) or payload[:1] != _SESSION_VERSION:
            raise SessionInvalid("session token was not issued by this gateway or was altered: "
                                 "POST /session (signed) at this gateway for one")
        expires_at = int.from_bytes(payload[21:25], "big")
        if expires_at <= self._clock():
            raise SessionExpired(f"session token expired at {expires_at}: POST /session for a new one")
        return Session(to_checksum_address(payload[1:21]), expires_at, token)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, b"tds-session/v1" + payload, hashlib.sha256).digest()


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (SessionInvalid otherwise)."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionInvalid("Authorization must be 'Bearer <session token>'")
    return token.strip()


@dataclass(frozen=True)
class Caller:
    """An authenticated participant and the block its membership was checked at."""

    address: str
    participant: Participant
    block: int


class Authenticator:
    """Verifies signed calls: expiry window, signature, membership, then burns the nonce."""

    def __init__(
        self,
        domain: GatewayDomain,
        view: ChainView,
        db: Database,
        max_ttl_s: int = 300,
        clock_skew_s: int = 30,
        clock: Callable[[], float] = time.time,
        sessions: SessionKeys | None = None,
    ) -> None:
        self.domain = domain
        self.chain_id = domain.chain_id
        self.verifying_contract = domain.usage_grants
        self.view = view
        self.db = db
        self.max_ttl_s = max_ttl_s
        self.clock_skew_s = clock_skew_s
        self._clock = clock
        self.sessions = sessions

    def authenticate(self, call: SignedCall, block: int, role: Role = Role.CONSUMER) -> Caller:
        """The verified caller, or a precise AuthError / AccessDenied (the nonce is used last)."""
        self.require_this_gateway(call)
        now = int(self._clock())
        if call.expiry < now - self.clock_skew_s:
            raise RequestExpired(f"signed request expired at {call.expiry} (now {now})")
        if call.expiry > now + self.max_ttl_s + self.clock_skew_s:
            raise RequestExpired(f"expiry {call.expiry} is more than {self.max_ttl_s} s ahead")
        signer = self.recover(call)
        if signer != call.address:
            raise BadSignature("signature does not match X-TDS-Address (wrong key, method, path, body or fields)")
        participant = self.view.participant(signer, block)
        require_member(participant, role)
        if not self.db.use_nonce(signer, call.nonce, call.expiry):
            raise NonceReplayed(f"nonce {call.nonce} already used by {signer}")
        return Caller(signer, participant, block)

    def require_this_gateway(self, call: SignedCall) -> None:
        """WrongGateway unless ``call`` was signed for this gateway (checked before anything else)."""
        if call.gateway != self.domain.gateway_id:
            raise WrongGateway(
                f"this call was signed for gateway {call.gateway}, but this is gateway {self.domain.describe()}: "
                "sign with the domain and message fields this gateway publishes at GET /eip712",
                signed_for=call.gateway, this_gateway=self.domain.gateway_id,
            )

    def open_session(self, caller: Caller, ttl_s: int) -> Session:
        """A session token for an already authenticated (signed) caller."""
        if self.sessions is None:
            raise SessionInvalid("this gateway does not issue session tokens")
        return self.sessions.issue(caller.address, ttl_s)

    def verify_session(self, token: str, claimed_address: str | None = None) -> Session:
        """Check a token's MAC and expiry (no chain read); ``claimed_address`` must match if given."""
        if self.sessions is None:
            raise SessionInvalid("this gateway does not issue session tokens")
        session = self.sessions.verify(token)
        if claimed_address is not None and claimed_address.strip().lower() != session.address.lower():
            raise SessionInvalid("session token is bound to another address than X-TDS-Address")
        return session

    def authenticate_session(self, session: Session, block: int, role: Role = Role.CONSUMER) -> Caller:
        """The caller of a verified session, if still an active member with ``role`` at ``block``."""
        participant = self.view.participant(session.address, block)
        require_member(participant, role)
        return Caller(session.address, participant, block)

    def recover(self, call: SignedCall) -> str:
        """The address that signed ``call`` for this gateway (a non-canonical signature is refused)."""
        problem = signature_problem(call.signature)
        if problem is not None:
            raise NonCanonicalSignature(f"X-TDS-Signature is not canonical: {problem}")
        doc = gateway_typed_data(self.domain, call.method, call.path, call.body_digest, call.nonce, call.expiry)
        try:
            return recover_signer(doc, call.signature)
        except Exception as exc:  # eth_keys raises several types for an unrecoverable signature
            raise BadSignature("signature cannot be recovered") from exc


def require_member(participant: Participant, role: Role) -> None:
    """NotMember / ParticipantSuspended unless active with ``role``."""
    if participant.status == ParticipantStatus.NONE:
        raise NotMember(f"{participant.address} is not an onboarded participant")
    if participant.status == ParticipantStatus.SUSPENDED:
        raise ParticipantSuspended(f"{participant.address} is suspended", address=participant.address)
    if role and role not in participant.roles:
        raise NotMember(f"{participant.address} does not hold the {role.name.lower()} role")
