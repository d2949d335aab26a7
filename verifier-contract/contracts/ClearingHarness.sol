// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Inclusion} from "./Inclusion.sol";
import {MarketClearing, ClearingRule} from "./MarketClearing.sol";

/// @notice Exposes MarketClearing (through the `ClearingRule` a market calls) and
/// Inclusion for the Rust cross-checks against `sealgrid_circuits::market::clear` and
/// `sealgrid_committee::InclusionBitmap`. Test helper; never deployed in a market.
contract ClearingHarness is ClearingRule {
    /// A fresh bitmap record per call, so that no call sees another's words.
    uint256 private calls;
    mapping(uint256 => mapping(uint256 => uint256)) private records;

    function packedNotCleared() external pure returns (uint256) {
        return MarketClearing.packedNotCleared();
    }

    /// Records `included` over `n` bids as `Market.clear` does, then reads `indices` as
    /// `Market.settle` does.
    function inclusion(uint256 n, uint256[] calldata included, uint32[] calldata indices)
        external
        returns (bool ok, uint256 count, bool[] memory hits)
    {
        mapping(uint256 => uint256) storage words = records[calls++];
        (ok, count) = Inclusion.record(words, n, included);
        hits = new bool[](indices.length);
        for (uint256 i = 0; i < indices.length; ++i) {
            hits[i] = Inclusion.contains(words, indices[i]);
        }
    }
}
