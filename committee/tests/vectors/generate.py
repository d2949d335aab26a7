"""Independent vectors for the committee's signed clearing message (sign.rs).

eth-abi encodes, eth-hash (pycryptodome) hashes, eth-keys signs (RFC 6979, low s) and
derives the address; none of them shares code with the Rust side.

    python3 -m venv venv && venv/bin/pip install eth-abi eth-keys "eth-hash[pycryptodome]"
    venv/bin/python generate.py > clearing.json
"""
import json
from eth_abi import encode
from eth_hash.auto import keccak
from eth_keys import keys

TAG = keccak(b"sealgrid.clear.v1")
chain_id = 246
contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
round_ = 1_970_000
h_buy = [0, 1200, 3400, 0, 77, 2**40 - 1, 5, 9]
h_sell = [10, 0, 0, 4500, 600, 1, 0, 2**33]
# 300 bids posted in the round, these summed: a two-word inclusion bitmap over the
# bid indices (bit i % 256 of word i / 256), as the market contract checks it.
posted = 300
included_indices = [0, 1, 2, 7, 8, 255, 256, 299]
words = [0] * ((posted + 255) // 256)
for i in included_indices:
    words[i // 256] |= 1 << (i % 256)
encoding = encode(
    ["bytes32", "uint256", "address", "uint64", "uint32", "uint64[]", "uint64[]", "uint256[]"],
    [TAG, chain_id, contract, round_, posted, h_buy, h_sell, words],
)
digest = keccak(encoding)
sk = keys.PrivateKey(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
sig = sk.sign_msg_hash(digest)
rsv = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([27 + sig.v])
print(json.dumps({
    "chain_id": chain_id,
    "contract": contract,
    "round": round_,
    "h_buy": h_buy,
    "h_sell": h_sell,
    "posted": posted,
    "included_indices": included_indices,
    "included": ["0x" + w.to_bytes(32, "big").hex() for w in words],
    "encoding": "0x" + encoding.hex(),
    "digest": "0x" + digest.hex(),
    "secret_key": "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    "address": sk.public_key.to_checksum_address().lower(),
    "signature": "0x" + rsv.hex(),
}, indent=2))
