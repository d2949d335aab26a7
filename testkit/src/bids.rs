//! Bids without a chain: the quotes of the round tests, the histograms a clearing must
//! find, random valid bids, and bids as the committee reads them from the chain.

use rand::Rng;
use sealgrid_circuits::bid::{self, BidOpening, PreparedBid};
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::{MarketParams, Side};
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::BidId;

/// The quotes of the six prosumers of the whole-round tests: (side, level, quantity Wh).
/// Both sides at K = 8 with crossing levels, so a round of them clears with a volume.
pub const QUOTES: [(Side, usize, u64); 6] = [
    (Side::Buy, 5, 10),
    (Side::Buy, 3, 8),
    (Side::Sell, 1, 6),
    (Side::Sell, 4, 9),
    (Side::Buy, 6, 5),
    (Side::Sell, 2, 7),
];

/// The Wh a prosumer's meter reads as imported in the round tests.
pub const IMPORTED: u64 = 3;

/// The Wh a bid's owner's meter reads as exported in the round tests: a seller's net
/// export (export less [`IMPORTED`]) is half its quantity plus one (it under-delivers: it
/// is paid and penalised), a buyer exports nothing.
pub fn exported(bid: &BidOpening) -> u64 {
    if bid.side == Side::Sell {
        IMPORTED + bid.q / 2 + 1
    } else {
        0
    }
}

/// The buy and sell histograms (quantity per price level, `levels` long) of plaintext
/// quotes: what the committee's decryption must find.
pub fn histograms(
    levels: usize,
    quotes: impl IntoIterator<Item = (Side, usize, u64)>,
) -> (Vec<u64>, Vec<u64>) {
    let (mut buy, mut sell) = (vec![0u64; levels], vec![0u64; levels]);
    for (side, level, q) in quotes {
        match side {
            Side::Buy => buy[level] += q,
            Side::Sell => sell[level] += q,
        }
    }
    (buy, sell)
}

/// The quote a prepared bid carries.
pub fn quote(b: &PreparedBid) -> (Side, usize, u64) {
    (b.private.side, b.private.level, b.private.q)
}

/// `n` valid bids for `round` under the flow `keys`, drawn from `rng`: for each, a side,
/// a level below `market.levels`, a quantity in 1..5,000 Wh and an account secret, from
/// a free balance of 2^40 (salt 7), so no bid lacks margin.
pub fn random_bids<R: Rng>(
    market: &MarketParams,
    keys: &FlowKeys,
    round: u64,
    n: usize,
    rng: &mut R,
) -> Vec<PreparedBid> {
    (0..n)
        .map(|_| {
            let side = if rng.gen() { Side::Buy } else { Side::Sell };
            let level = rng.gen_range(0..market.levels);
            let q = rng.gen_range(1..5_000);
            let sk: Fr = rng.gen::<u64>().into();
            bid::prepare(
                market,
                keys,
                round,
                sk,
                1 << 40,
                Fr::from(7u64),
                side,
                level,
                q,
                rng,
            )
            .expect("a valid random bid")
        })
        .collect()
}

/// A bid as the contract's `BidSubmitted` event posts it and the committee reads it.
pub fn posted(b: &PreparedBid) -> PostedBid {
    PostedBid {
        id: BidId::from_commitment(b.public.bid),
        ciphertexts: b.ciphertexts.clone(),
        digest: b.public.digest,
        acct: Some(sealgrid_committee::AccountId::from_field(b.public.acct)),
    }
}

/// [`posted`] of each bid, in order.
pub fn posted_all(bids: &[PreparedBid]) -> Vec<PostedBid> {
    bids.iter().map(posted).collect()
}
