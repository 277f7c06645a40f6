"""Consumer example: request a grant and fetch data with only eth-account and httpx (no TDS code).

Usage: CONSUMER_KEY=0x... ASSET=0x... TDS_GATEWAY_URL=http://127.0.0.1:8700 python examples/consumer_eth_account.py
"""
# Sign gateway calls with nothing but eth-account and httpx (any EIP-712 wallet works the same way).
import json, os, secrets, time
import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

GATEWAY = os.environ.get("TDS_GATEWAY_URL", "http://127.0.0.1:8700")
consumer = Account.from_key(os.environ["CONSUMER_KEY"])          # an onboarded consumer's key
eip712 = httpx.get(f"{GATEWAY}/eip712").json()                  # domains and types, published by the gateway

def signed(method: str, path: str, body: bytes = b"") -> dict:
    nonce, expiry = secrets.randbits(128), int(time.time()) + 120
    doc = {**eip712["gateway"], "message": {"method": method, "path": path, "bodyHash": keccak(body),
                                            "nonce": nonce, "expiry": expiry}}
    sig = consumer.sign_message(encode_typed_data(full_message=doc)).signature.to_0x_hex()
    return {"X-TDS-Address": consumer.address, "X-TDS-Nonce": str(nonce), "X-TDS-Expiry": str(expiry),
            "X-TDS-Signature": sig}

asset = os.environ["ASSET"]
# 1. ask for a grant: sign the GrantRequest (UsageGrants domain), then sign the POST itself
now = int(time.time())
request = {"asset_id": asset, "consumer": consumer.address, "purpose": "research", "not_before": now - 60,
           "not_after": now + 86400, "max_count": 2, "price_per_access": 0, "nonce": secrets.randbits(64),
           "deadline": now + 600}
grant_doc = {**eip712["grantRequest"], "message": {
    "assetId": request["asset_id"], "consumer": request["consumer"], "purpose": request["purpose"],
    "notBefore": request["not_before"], "notAfter": request["not_after"], "maxCount": request["max_count"],
    "pricePerAccess": request["price_per_access"], "nonce": request["nonce"], "deadline": request["deadline"]}}
consent = consumer.sign_message(encode_typed_data(full_message=grant_doc)).signature.to_0x_hex()
body = json.dumps({"request": request, "signature": consent}).encode()
grant = httpx.post(f"{GATEWAY}/grants", content=body,
                   headers={**signed("POST", "/grants", body), "Content-Type": "application/json"}).json()
print(grant["grant_id"], grant["state"])                         # issued (auto-approve) or pending
# 2. fetch the bytes under the grant
path = f"/assets/{asset}/data"
resp = httpx.get(GATEWAY + path, headers=signed("GET", path))
print(resp.status_code, resp.headers["X-Content-SHA256"], len(resp.content))
