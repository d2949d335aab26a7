// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title The inclusion bitmap of a round's bids (docs/PROTOCOL.md §8).
/// @notice Bit `i % 256` of word `i / 256` is set when bid `i` was summed by the
/// committee. Market records it on `clear` and reads it on `settle` through this
/// library only; `sealgrid_committee::InclusionBitmap` is its Rust form, and a Rust
/// test compares the two through ClearingHarness.
library Inclusion {
    /// Records `included`, a bitmap over `n` bids, into `words`. `ok` is false (and
    /// the caller must revert) unless it has one word per 256 bids and no bit at or
    /// above `n`; `count` is the number of bids included.
    function record(mapping(uint256 => uint256) storage words, uint256 n, uint256[] calldata included)
        internal
        returns (bool ok, uint256 count)
    {
        if (included.length != (n + 255) / 256) return (false, 0);
        for (uint256 w = 0; w < included.length; ++w) {
            uint256 bits = included[w];
            if (w == included.length - 1 && n % 256 != 0 && bits >> (n % 256) != 0) return (false, 0);
            count += _popcount(bits);
            if (bits != 0) words[w] = bits;
        }
        ok = true;
    }

    /// Whether bid `index` is included.
    function contains(mapping(uint256 => uint256) storage words, uint256 index) internal view returns (bool) {
        return (words[index / 256] >> (index % 256)) & 1 == 1;
    }

    function _popcount(uint256 x) private pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }
}
