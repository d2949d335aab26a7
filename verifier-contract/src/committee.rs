//! What trustees sign (`Market.clearDigest`, `Market.finalizeDigest`) and what a payer
//! signs to have a deposit relayed (`Market.depositDigest`), computed off chain, and the
//! inclusion bitmap of a round's bids.

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;
use k256::ecdsa::SigningKey;

use crate::bindings::Market;
use sealgrid_committee::InclusionBitmap;

/// `keccak256(abi.encode(keccak256("sealgrid.clear.v1"), chainid, market, round,
/// bidCount, hBuy, hSell, included))`.
pub fn clear_digest(
    chain_id: u64,
    market: Address,
    round: u64,
    bid_count: u32,
    h_buy: &[u64],
    h_sell: &[u64],
    included: &[U256],
) -> B256 {
    let tag = keccak256("sealgrid.clear.v1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            market,
            round,
            bid_count,
            h_buy.to_vec(),
            h_sell.to_vec(),
            included.to_vec(),
        )
            .abi_encode_params(),
    )
}

/// The flow totals a finalization posts: `(pay, credit, penalty, defaultedLocks)`.
pub type FlowTotals = (U256, U256, U256, U256);

/// `keccak256(abi.encode(keccak256("sealgrid.finalize.v1"), chainid, market, round,
/// totals, uint32 defaulted, voided))`: `defaulted` is the number of recorded defaults.
pub fn finalize_digest(
    chain_id: u64,
    market: Address,
    round: u64,
    totals: FlowTotals,
    defaulted: u32,
    voided: &[U256],
) -> B256 {
    let tag = keccak256("sealgrid.finalize.v1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            market,
            round,
            totals,
            defaulted,
            voided.to_vec(),
        )
            .abi_encode_params(),
    )
}

/// The EIP-712 domain of a market's typed data: `EIP712Domain(string name,string
/// version,uint256 chainId,address verifyingContract)`.
pub const EIP712_DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The domain's `name`.
pub const EIP712_NAME: &str = "sealgrid";
/// The domain's `version`.
pub const EIP712_VERSION: &str = "1";
/// The struct a payer signs to have a deposit relayed.
pub const DEPOSIT_TYPE: &str =
    "Deposit(address payer,uint256 acct,uint256 fOld,uint256 fNew,uint256 delta,uint256 pIn,uint256 recipient)";

/// The EIP-712 domain separator of `market` on `chain_id` (`Market.domainSeparator`).
pub fn domain_separator(chain_id: u64, market: Address) -> B256 {
    keccak256(
        (
            keccak256(EIP712_DOMAIN_TYPE),
            keccak256(EIP712_NAME),
            keccak256(EIP712_VERSION),
            U256::from(chain_id),
            market,
        )
            .abi_encode_params(),
    )
}

/// What a payer signs so that someone else may relay its deposit
/// (`Market.depositDigest`, `Market.depositFor`): the EIP-712 hash
/// `keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(Deposit))` of
/// `Deposit(payer, acct, fOld, fNew, delta, pIn, recipient)` in the domain `sealgrid`,
/// version 1, this chain and market (PROTOCOL §8). A wallet that speaks EIP-712 shows
/// the payer these fields before it signs.
pub fn deposit_digest(
    chain_id: u64,
    market: Address,
    payer: Address,
    inp: &Market::BalanceInputs,
) -> B256 {
    let struct_hash = keccak256(
        (
            keccak256(DEPOSIT_TYPE),
            payer,
            inp.acct,
            inp.fOld,
            inp.fNew,
            inp.delta,
            inp.pIn,
            inp.recipient,
        )
            .abi_encode_params(),
    );
    let mut pre = Vec::with_capacity(66);
    pre.extend_from_slice(&[0x19, 0x01]);
    pre.extend_from_slice(domain_separator(chain_id, market).as_slice());
    pre.extend_from_slice(struct_hash.as_slice());
    keccak256(pre)
}

/// The signer a payer signature of [`deposit_digest`] recovers to, under the contract's
/// rules (`v` 27 or 28, low `s`); `None` where the contract's `ecrecover` check fails.
pub fn recover_deposit_signer(digest: B256, sig: &Market::Signature) -> Option<Address> {
    let half_n = U256::from_be_bytes(hex_literal_half_n());
    if U256::from_be_bytes(sig.s.0) > half_n || !(sig.v == 27 || sig.v == 28) {
        return None;
    }
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(sig.r.as_slice());
    rs[32..].copy_from_slice(sig.s.as_slice());
    let signature = k256::ecdsa::Signature::from_slice(&rs).ok()?;
    let recid = k256::ecdsa::RecoveryId::from_byte(sig.v - 27)?;
    let key = k256::ecdsa::VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recid)
        .ok()?;
    let point = key.to_encoded_point(false);
    Some(Address::from_slice(
        &keccak256(&point.as_bytes()[1..])[12..],
    ))
}

/// secp256k1's n / 2 (`Market.HALF_N`).
fn hex_literal_half_n() -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(
        "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0",
        &mut out,
    )
    .expect("a 32-byte constant");
    out
}

/// The payer's signature of [`deposit_digest`], in the contract's form.
pub fn sign_deposit(payer: &SigningKey, digest: B256) -> Market::Signature {
    sign_sorted(&[payer], digest).remove(0)
}

/// An inclusion bitmap as the contract's `uint256[] included`.
pub fn bitmap_words(b: &InclusionBitmap) -> Vec<U256> {
    b.iter().map(|w| U256::from_be_bytes(*w)).collect()
}

/// The contract's `uint256[]` words as an inclusion bitmap.
pub fn bitmap_from_words(words: &[U256]) -> InclusionBitmap {
    InclusionBitmap::from_words(words.iter().map(|w| w.to_be_bytes::<32>()).collect())
}

/// The Ethereum address of a secp256k1 key.
pub fn address_of(key: &SigningKey) -> Address {
    crate::chain::address_of_key(key)
}

/// `keys` sign `digest` (no message prefix, as the contract's `ecrecover` expects), in
/// the `Signature` form `Market.clear`/`Market.finalize` take, sorted by signer address
/// as the contract requires. For trustees whose keys live here (tests, the gas bench);
/// the committee's 65-byte signatures come from `sealgrid-committee`.
pub fn sign_sorted(keys: &[&SigningKey], digest: B256) -> Vec<Market::Signature> {
    let mut sigs: Vec<(Address, Market::Signature)> = keys
        .iter()
        .map(|k| {
            let (sig, recid) = k
                .sign_prehash_recoverable(digest.as_slice())
                .expect("a 32-byte prehash signs");
            let bytes = sig.to_bytes();
            (
                address_of(k),
                Market::Signature {
                    v: 27 + recid.to_byte(),
                    r: B256::from_slice(&bytes[..32]),
                    s: B256::from_slice(&bytes[32..]),
                },
            )
        })
        .collect();
    sigs.sort_by_key(|(a, _)| *a);
    sigs.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealgrid_committee::sign::{
        clearing_digest, Address as CAddress, ClearingStatement, SigningDomain,
    };

    /// The committee signs exactly what the contract checks: the committee crate's
    /// encoding and this crate's (tested equal to `Market.clearDigest` on chain) agree.
    #[test]
    fn the_committee_signs_the_digest_the_contract_checks() {
        let market = Address::from([0x5a; 20]);
        for (posted, indices) in [
            (3usize, vec![0u32, 2]),
            (300, vec![0, 1, 255, 256, 299]),
            (1, vec![]),
        ] {
            let h_buy = vec![0, 1200, 3400, 0, 77, (1 << 40) - 1, 5, 9];
            let h_sell = vec![10, 0, 0, 4500, 600, 1, 0, 1 << 33];
            let theirs = InclusionBitmap::from_indices(posted, indices.iter().copied());
            let ours = bitmap_words(&theirs);
            assert_eq!(bitmap_from_words(&ours), theirs);
            for (i, w) in ours.iter().enumerate() {
                for bit in 0..256 {
                    let index = (256 * i + bit) as u32;
                    assert_eq!(w.bit(bit), theirs.contains(index), "{index}");
                }
            }
            let digest = clear_digest(
                31337,
                market,
                1_970_000,
                posted as u32,
                &h_buy,
                &h_sell,
                &ours,
            );
            let committee = clearing_digest(
                &SigningDomain {
                    chain_id: 31337,
                    contract: CAddress(market.0 .0),
                },
                &ClearingStatement {
                    round: 1_970_000,
                    bids: posted as u32,
                    h_buy,
                    h_sell,
                    included: theirs,
                },
            );
            assert_eq!(digest.0, committee);
        }
    }

    /// The payer's digest is EIP-712 as alloy implements it (an implementation this
    /// project did not write): the same domain and struct through `SolStruct`.
    #[test]
    fn the_deposit_digest_is_alloys_eip712_hash() {
        alloy_sol_types::sol! {
            struct Deposit {
                address payer;
                uint256 acct;
                uint256 fOld;
                uint256 fNew;
                uint256 delta;
                uint256 pIn;
                uint256 recipient;
            }
        }
        use alloy_sol_types::SolStruct;
        let market = Address::from([0x5a; 20]);
        let payer = Address::from([0xa7; 20]);
        for (chain_id, delta) in [(31337u64, 500_000u64), (1, 1), (1337, u64::MAX)] {
            let inp = Market::BalanceInputs {
                acct: U256::from(0x1234_5678u64) << 200,
                fOld: U256::from(11u64),
                fNew: U256::from(12u64) << 250,
                delta: U256::from(delta),
                pIn: U256::from(chain_id),
                recipient: U256::ZERO,
            };
            let domain = alloy_sol_types::eip712_domain! {
                name: "sealgrid",
                version: "1",
                chain_id: chain_id,
                verifying_contract: market,
            };
            let theirs = Deposit {
                payer,
                acct: inp.acct,
                fOld: inp.fOld,
                fNew: inp.fNew,
                delta: inp.delta,
                pIn: inp.pIn,
                recipient: inp.recipient,
            };
            assert_eq!(Deposit::eip712_encode_type(), DEPOSIT_TYPE);
            assert_eq!(domain.separator(), domain_separator(chain_id, market));
            assert_eq!(
                theirs.eip712_signing_hash(&domain),
                deposit_digest(chain_id, market, payer, &inp)
            );
        }
    }

    #[test]
    fn a_deposit_signature_recovers_to_its_payer_only_with_low_s() {
        let key = SigningKey::from_slice(&[0x42; 32]).expect("key");
        let digest = B256::from([0x17; 32]);
        let sig = sign_deposit(&key, digest);
        assert_eq!(recover_deposit_signer(digest, &sig), Some(address_of(&key)));
        assert_ne!(
            recover_deposit_signer(B256::from([0x18; 32]), &sig),
            Some(address_of(&key))
        );
        // the same signature with high s (n - s) and the other v: valid for ecrecover,
        // refused by the contract
        let n = U256::from_str_radix(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
            16,
        )
        .expect("n");
        let high = Market::Signature {
            v: if sig.v == 27 { 28 } else { 27 },
            r: sig.r,
            s: B256::from(n - U256::from_be_bytes(sig.s.0)),
        };
        assert_eq!(recover_deposit_signer(digest, &high), None);
    }

    /// Same for finalization: the committee's `finalize_digest` is this crate's (which the
    /// market test feeds to `Market.finalize` on chain).
    #[test]
    fn the_committee_signs_the_finalize_digest_the_contract_checks() {
        use sealgrid_committee::sign::{
            finalize_digest as committee_finalize, FinalizeStatement, FinalizeTotals,
        };
        use sealgrid_committee::BidId;
        let market = Address::from([0x5a; 20]);
        let totals = FinalizeTotals {
            pay: (1 << 40) + 17,
            credit: 3_000_000,
            penalty: 0,
            defaulted_locks: u64::MAX,
        };
        let ids = |n: u16, tag: u8| -> Vec<BidId> {
            (1..=n)
                .map(|i| {
                    let mut b = [0u8; 32];
                    b[0] = tag;
                    b[30..].copy_from_slice(&i.to_be_bytes());
                    BidId(b)
                })
                .collect()
        };
        for (defaulted, voided) in [
            (vec![], vec![]),
            (vec![BidId([7; 32])], vec![]),
            (vec![], vec![BidId([9; 32])]),
            (ids(300, 0x2f), ids(3, 0x11)),
        ] {
            let ours = finalize_digest(
                31337,
                market,
                1_970_000,
                (
                    U256::from(totals.pay),
                    U256::from(totals.credit),
                    U256::from(totals.penalty),
                    U256::from(totals.defaulted_locks),
                ),
                defaulted.len() as u32,
                &voided
                    .iter()
                    .map(|b: &BidId| U256::from_be_bytes(b.0))
                    .collect::<Vec<_>>(),
            );
            let committee = committee_finalize(
                &SigningDomain {
                    chain_id: 31337,
                    contract: CAddress(market.0 .0),
                },
                &FinalizeStatement {
                    round: 1_970_000,
                    totals,
                    defaulted,
                    voided,
                },
            );
            assert_eq!(ours.0, committee);
        }
    }
}
