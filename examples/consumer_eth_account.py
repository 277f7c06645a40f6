"""Consumer example: request a grant and fetch data with only eth-account and httpx (no TDS code).

Usage, with the consumer's key read from its encrypted keystore file (passphrase from
TDS_KEYSTORE_PASSWORD, else the keystore's .passphrase file written by `tds init`, else a prompt):

    CONSUMER_KEYFILE=.tds/keystore/consumer.json ASSET=0x... TDS_GATEWAY_URL=http://127.0.0.1:8700 \
        python examples/consumer_eth_account.py

or with a raw key in CONSUMER_KEY=0x... instead of CONSUMER_KEYFILE. Prints the grant id and state, then
the fetch's status, SHA-256 and size; exits 1 with the gateway's error (code and message) if it refuses.
"""
# Sign gateway calls with nothing but eth-account and httpx (any EIP-712 wallet works the same way).
import getpass, json, os, pathlib, secrets, sys, time
import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

GATEWAY = os.environ.get("TDS_GATEWAY_URL", "http://127.0.0.1:8700")


def load_consumer():
    """An onboarded consumer's account: CONSUMER_KEY, or the keystore file CONSUMER_KEYFILE."""
    if os.environ.get("CONSUMER_KEY"):
        return Account.from_key(os.environ["CONSUMER_KEY"])
    keyfile = pathlib.Path(os.environ["CONSUMER_KEYFILE"])
    stored = keyfile.parent / ".passphrase"
    password = os.environ.get("TDS_KEYSTORE_PASSWORD") or (
        stored.read_text().strip() if stored.exists() else getpass.getpass(f"passphrase of {keyfile}: "))
    return Account.from_key(Account.decrypt(json.loads(keyfile.read_text()), password))


def checked(resp: httpx.Response) -> httpx.Response:
    """The response, or exit 1 printing the gateway's error body {"error": {"code", "message"}}."""
    if resp.status_code >= 400:
        try:
            error = resp.json()["error"]
            reason = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            reason = resp.text[:200]
        sys.exit(f"{resp.request.method} {resp.request.url.path} refused ({resp.status_code}) {reason}")
    return resp


consumer = load_consumer()
eip712 = checked(httpx.get(f"{GATEWAY}/eip712")).json()          # domains, types and this gateway's fields
call = eip712["gateway"]


def signed(method: str, path: str, body: bytes = b"") -> dict:
    """X-TDS-* headers: one call, bound to this gateway (provider + gateway id), used once, expiring."""
    nonce, expiry = secrets.randbits(128), int(time.time()) + 120
    doc = {**call, "message": {**call["message"], "method": method, "path": path, "bodyHash": keccak(body),
                               "nonce": nonce, "expiry": expiry}}
    sig = consumer.sign_message(encode_typed_data(full_message=doc)).signature.to_0x_hex()
    return {"X-TDS-Address": consumer.address, "X-TDS-Gateway": call["message"]["gateway"],
            "X-TDS-Nonce": str(nonce), "X-TDS-Expiry": str(expiry), "X-TDS-Signature": sig}


asset = os.environ["ASSET"]
# 1. read the offer: the request agrees to its policy epoch (the last part of odrl:uid) and its price
offer = checked(httpx.get(f"{GATEWAY}/assets/{asset}")).json()["odrl:hasPolicy"][0]
epoch = int(offer["odrl:uid"].rsplit(":", 1)[-1])
price = 0
for duty in offer["odrl:permission"][0].get("odrl:duty", []):                # odrl:compensate, when paid
    for constraint in duty["odrl:constraint"]:
        if constraint["odrl:leftOperand"] == "odrl:payAmount":
            price = int(constraint["odrl:rightOperand"]["@value"])  # prepaid/subscription: deposit first
# 2. ask for a grant: sign the GrantRequest (UsageGrants domain), then sign the POST itself
now = int(time.time())
request = {"asset_id": asset, "consumer": consumer.address, "purpose": "research", "not_before": now - 60,
           "not_after": now + 86400, "max_count": 2, "price_per_access": price, "nonce": secrets.randbits(64),
           "deadline": now + 600, "policy_epoch": epoch}
grant_doc = {**eip712["grantRequest"], "message": {
    "assetId": request["asset_id"], "consumer": request["consumer"], "purpose": request["purpose"],
    "notBefore": request["not_before"], "notAfter": request["not_after"], "maxCount": request["max_count"],
    "pricePerAccess": request["price_per_access"], "nonce": request["nonce"], "deadline": request["deadline"],
    "policyEpoch": request["policy_epoch"]}}
consent = consumer.sign_message(encode_typed_data(full_message=grant_doc)).signature.to_0x_hex()
body = json.dumps({"request": request, "signature": consent}).encode()
grant = checked(httpx.post(f"{GATEWAY}/grants", content=body,
                           headers={**signed("POST", "/grants", body), "Content-Type": "application/json"})).json()
print(grant["grant_id"], grant["state"])                         # issued (auto-approve) or pending
# 3. fetch the bytes under the grant
path = f"/assets/{asset}/data"
resp = checked(httpx.get(GATEWAY + path, headers=signed("GET", path)))
print(resp.status_code, resp.headers["X-Content-SHA256"], len(resp.content))
