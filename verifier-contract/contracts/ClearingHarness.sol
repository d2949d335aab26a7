// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketClearing} from "./MarketClearing.sol";

/// @notice Exposes MarketClearing for the Rust cross-check against
/// `sealgrid_circuits::market::clear`. Test helper; never deployed in a market.
contract ClearingHarness {
    function clear(uint64[] calldata hBuy, uint64[] calldata hSell, uint256 bids, uint256 kAnonymity)
        external
        pure
        returns (MarketClearing.Result memory result, uint256 packed)
    {
        result = MarketClearing.clear(hBuy, hSell, bids, kAnonymity);
        packed = MarketClearing.pack(result);
    }

    function packedNotCleared() external pure returns (uint256) {
        return MarketClearing.packedNotCleared();
    }
}
