// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title Uniform-price clearing (docs/PROTOCOL.md §5).
/// @notice Mirrors `sealgrid_circuits::market::clear` and `Clearing::pack` exactly,
/// tie-break included; a Rust test compares the two on random histograms.
library MarketClearing {
    /// Bits of each rationing numerator and denominator in the packed clearing.
    uint256 internal constant RATION_BITS = 40;

    /// The result of clearing one round (the fields of the Rust `Clearing`).
    struct Result {
        bool cleared;
        uint256 level;
        uint256 volume;
        uint256 numBuy;
        uint256 denBuy;
        uint256 numSell;
        uint256 denSell;
    }

    /// Buy and sell histograms of different lengths, or empty.
    error HistogramShape(uint256 buy, uint256 sell);
    /// A side's total does not fit in RATION_BITS bits.
    error HistogramTotal(uint256 total);

    /// Clears a round from its histograms; `bids` included bids, `kAnonymity` the floor
    /// under which nothing trades (`cleared = false`).
    function clear(uint64[] memory hBuy, uint64[] memory hSell, uint256 bids, uint256 kAnonymity)
        internal
        pure
        returns (Result memory r)
    {
        uint256 k = hBuy.length;
        if (k == 0 || hSell.length != k) revert HistogramShape(hBuy.length, hSell.length);
        uint256 totalBuy;
        uint256 totalSell;
        for (uint256 j = 0; j < k; ++j) {
            totalBuy += hBuy[j];
            totalSell += hSell[j];
        }
        // Same order as the Rust code: the buy side is reported first.
        if (totalBuy >= 1 << RATION_BITS) revert HistogramTotal(totalBuy);
        if (totalSell >= 1 << RATION_BITS) revert HistogramTotal(totalSell);
        if (bids < kAnonymity) {
            r.denBuy = 1;
            r.denSell = 1;
            return r;
        }
        // demand[j] = D(j) = sum_{i >= j} hBuy[i], demand[k] = 0;
        // supply[j + 1] = S(j) = sum_{i <= j} hSell[i], supply[0] = S(-1) = 0.
        uint256[] memory demand = new uint256[](k + 1);
        uint256[] memory supply = new uint256[](k + 1);
        for (uint256 j = k; j > 0; --j) {
            demand[j - 1] = demand[j] + hBuy[j - 1];
        }
        for (uint256 j = 0; j < k; ++j) {
            supply[j + 1] = supply[j] + hSell[j];
        }
        uint256 best;
        for (uint256 j = 0; j < k; ++j) {
            uint256 v = _min(demand[j], supply[j + 1]);
            if (v > best) best = v;
        }
        // Tie-break (PROTOCOL §5): the lowest maximiser at which neither side's bids
        // strictly in the money exceed the volume. One always exists.
        uint256 level = k;
        for (uint256 j = 0; j < k; ++j) {
            if (_min(demand[j], supply[j + 1]) == best && demand[j + 1] <= best && supply[j] <= best) {
                level = j;
                break;
            }
        }
        assert(level < k);
        r.cleared = true;
        r.level = level;
        r.volume = best;
        (r.numBuy, r.denBuy) = _ration(best - demand[level + 1], hBuy[level]);
        (r.numSell, r.denSell) = _ration(best - supply[level], hSell[level]);
    }

    /// The settle circuit's public input:
    /// `cleared | level << 1 | numBuy << 9 | denBuy << 49 | numSell << 89 | denSell << 129`.
    function pack(Result memory r) internal pure returns (uint256) {
        return (r.cleared ? 1 : 0) | (r.level << 1) | (r.numBuy << 9) | (r.denBuy << 49)
            | (r.numSell << 89) | (r.denSell << 129);
    }

    /// The packed clearing of a round that does not clear (or of a bid excluded from
    /// the histograms): every fill is zero.
    function packedNotCleared() internal pure returns (uint256) {
        return (uint256(1) << 49) | (uint256(1) << 129);
    }

    function _ration(uint256 num, uint256 den) private pure returns (uint256, uint256) {
        return den == 0 ? (0, 1) : (num, den);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}

/// @notice The clearing rule as a contract of its own, which `Market` creates in its
/// constructor and calls in `clear`: with the rule inlined, `Market`'s code would be
/// over EIP-170's 24,576 bytes in the London build (no PUSH0). A revert of the rule
/// (`HistogramShape`, `HistogramTotal`) is passed on by `Market.clear` as it is.
contract ClearingRule {
    /// `MarketClearing.clear`, and the result packed (`MarketClearing.pack`).
    function clear(uint64[] calldata hBuy, uint64[] calldata hSell, uint256 bids, uint256 kAnonymity)
        external
        pure
        returns (MarketClearing.Result memory result, uint256 packed)
    {
        result = MarketClearing.clear(hBuy, hSell, bids, kAnonymity);
        packed = MarketClearing.pack(result);
    }
}
