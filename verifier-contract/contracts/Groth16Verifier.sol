// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title Groth16 verifier over BN254 with the verifying key fixed at deployment.
/// @notice One deployed instance per circuit (balance, bid, settle). The key lives in
/// immutables (code, not storage): reading it costs 3 gas a word instead of 2,100 for a
/// cold SLOAD. Up to MAX_INPUTS public inputs.
///
/// Encoding (the Rust crate's `calldata` module produces it):
/// - proof = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]: G2 coordinates are
///   written (c1, c0), imaginary part first, as the pairing precompile (EIP-197) wants;
/// - the point at infinity is all zeros.
///
/// Rejections: malformed input reverts with a named error (wrong count, an input >= r,
/// a coordinate >= q, a point off its curve, a failed precompile call); a well-formed
/// proof whose pairing check fails returns false. Callers turn false into their own
/// revert. The pairing precompile also checks that B lies in G2's prime-order subgroup
/// and fails the call otherwise (PrecompileFailed); it is called with the exact gas of a
/// 4-pair check, so such a proof burns 181k gas, not the whole transaction.
contract Groth16Verifier {
    /// BN254 scalar field modulus r: every public input must be below it.
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254 base field modulus q: every coordinate must be below it.
    uint256 internal constant Q =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// The G2 twist's b' = 3 / (9 + u), real and imaginary parts.
    uint256 internal constant B2_C0 =
        19485874751759354771024239261021720505790618469301721065564631296452457478373;
    uint256 internal constant B2_C1 =
        266929791119991161246907387137283842545076965332900288569378510910307636690;
    /// EIP-1108 prices: 45,000 + 34,000 per pair; a single proof checks four pairs.
    uint256 internal constant PAIRING_BASE_GAS = 45_000;
    uint256 internal constant PAIRING_PAIR_GAS = 34_000;
    uint256 internal constant PAIRING_GAS = PAIRING_BASE_GAS + 4 * PAIRING_PAIR_GAS;
    /// Domain tag of a batch's challenge (`verifyBatch`).
    bytes32 internal constant BATCH_TAG = keccak256("sealgrid.groth16.batch.v1");
    /// Largest number of public inputs a key may have.
    uint256 public constant MAX_INPUTS = 8;

    /// The call passed `got` public inputs; the key has `expected`.
    error InputCount(uint256 expected, uint256 got);
    /// Public input `index` is not below the scalar field modulus r.
    error InputNotInField(uint256 index);
    /// Proof word `index` (0..7) is not below the base field modulus q.
    error CoordinateNotInField(uint256 index);
    /// Proof point `index` (0 = A, 1 = B, 2 = C) is not on its curve.
    error PointNotOnCurve(uint256 index);
    /// A call to precompile 0x06, 0x07 or 0x08 failed.
    error PrecompileFailed(uint256 precompile);
    /// `verifyBatch` was given no proof.
    error EmptyBatch();
    /// The verifying key given at deployment is malformed.
    error BadKey(uint256 index);

    /// Number of public inputs of the circuit.
    uint256 public immutable numInputs;
    uint256 internal immutable ALPHA_X;
    uint256 internal immutable ALPHA_Y;
    uint256 internal immutable BETA_X1;
    uint256 internal immutable BETA_X0;
    uint256 internal immutable BETA_Y1;
    uint256 internal immutable BETA_Y0;
    uint256 internal immutable GAMMA_X1;
    uint256 internal immutable GAMMA_X0;
    uint256 internal immutable GAMMA_Y1;
    uint256 internal immutable GAMMA_Y0;
    uint256 internal immutable DELTA_X1;
    uint256 internal immutable DELTA_X0;
    uint256 internal immutable DELTA_Y1;
    uint256 internal immutable DELTA_Y0;
    uint256 internal immutable IC0X;
    uint256 internal immutable IC0Y;
    uint256 internal immutable IC1X;
    uint256 internal immutable IC1Y;
    uint256 internal immutable IC2X;
    uint256 internal immutable IC2Y;
    uint256 internal immutable IC3X;
    uint256 internal immutable IC3Y;
    uint256 internal immutable IC4X;
    uint256 internal immutable IC4Y;
    uint256 internal immutable IC5X;
    uint256 internal immutable IC5Y;
    uint256 internal immutable IC6X;
    uint256 internal immutable IC6Y;
    uint256 internal immutable IC7X;
    uint256 internal immutable IC7Y;
    uint256 internal immutable IC8X;
    uint256 internal immutable IC8Y;

    /// @param alpha alpha in G1 (x, y).
    /// @param beta beta in G2 (x.c1, x.c0, y.c1, y.c0); gamma, delta likewise.
    /// @param ic the input bases, `numInputs + 1` points of G1.
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[2][] memory ic
    ) {
        if (ic.length == 0 || ic.length > MAX_INPUTS + 1) revert BadKey(4);
        if (!_g1Ok(alpha[0], alpha[1])) revert BadKey(0);
        if (!_g2Ok(beta[0], beta[1], beta[2], beta[3])) revert BadKey(1);
        if (!_g2Ok(gamma[0], gamma[1], gamma[2], gamma[3])) revert BadKey(2);
        if (!_g2Ok(delta[0], delta[1], delta[2], delta[3])) revert BadKey(3);
        for (uint256 i = 0; i < ic.length; ++i) {
            if (!_g1Ok(ic[i][0], ic[i][1])) revert BadKey(5 + i);
        }
        numInputs = ic.length - 1;
        (ALPHA_X, ALPHA_Y) = (alpha[0], alpha[1]);
        (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0) = (beta[0], beta[1], beta[2], beta[3]);
        (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0) = (gamma[0], gamma[1], gamma[2], gamma[3]);
        (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0) = (delta[0], delta[1], delta[2], delta[3]);
        (IC0X, IC0Y) = 0 < ic.length ? (ic[0][0], ic[0][1]) : (0, 0);
        (IC1X, IC1Y) = 1 < ic.length ? (ic[1][0], ic[1][1]) : (0, 0);
        (IC2X, IC2Y) = 2 < ic.length ? (ic[2][0], ic[2][1]) : (0, 0);
        (IC3X, IC3Y) = 3 < ic.length ? (ic[3][0], ic[3][1]) : (0, 0);
        (IC4X, IC4Y) = 4 < ic.length ? (ic[4][0], ic[4][1]) : (0, 0);
        (IC5X, IC5Y) = 5 < ic.length ? (ic[5][0], ic[5][1]) : (0, 0);
        (IC6X, IC6Y) = 6 < ic.length ? (ic[6][0], ic[6][1]) : (0, 0);
        (IC7X, IC7Y) = 7 < ic.length ? (ic[7][0], ic[7][1]) : (0, 0);
        (IC8X, IC8Y) = 8 < ic.length ? (ic[8][0], ic[8][1]) : (0, 0);
    }

    /// Verifies a Groth16 proof. Reverts on malformed input (see the contract notes);
    /// returns whether the pairing check holds.
    function verifyProof(uint256[8] calldata proof, uint256[] calldata input)
        external
        view
        returns (bool)
    {
        return _verify(proof, input);
    }

    /// Verifies `proofs.length` proofs at once (PROTOCOL §4.4): proof i's public inputs
    /// are `inputs[i * numInputs .. (i + 1) * numInputs]`. The checks are combined with
    /// one random linear combination: coefficients `r_0 = 1` and, for i > 0, `r_i` in
    /// [1, r - 1] from the keccak of this contract, the chain and the whole batch, so no
    /// item can be chosen after the coefficients. Costs n + 3 pairings and 2(n - 1) + k + 2
    /// multiplications (k inputs), against 4n pairings and nk multiplications one by one.
    /// Reverts on malformed input as `verifyProof`; returns whether every proof holds
    /// (except with probability n / r per batch).
    function verifyBatch(uint256[8][] calldata proofs, uint256[] calldata inputs)
        external
        view
        returns (bool ok)
    {
        uint256 n = proofs.length;
        uint256 k = numInputs;
        if (n == 0) revert EmptyBatch();
        if (inputs.length != n * k) revert InputCount(n * k, inputs.length);
        for (uint256 i = 0; i < inputs.length; ++i) {
            if (inputs[i] >= R) revert InputNotInField(i);
        }
        for (uint256 i = 0; i < n; ++i) {
            uint256[8] calldata pr = proofs[i];
            for (uint256 j = 0; j < 8; ++j) {
                if (pr[j] >= Q) revert CoordinateNotInField(8 * i + j);
            }
            if (!_onG1(pr[0], pr[1])) revert PointNotOnCurve(3 * i);
            if (!_onG2(pr[2], pr[3], pr[4], pr[5])) revert PointNotOnCurve(3 * i + 1);
            if (!_onG1(pr[6], pr[7])) revert PointNotOnCurve(3 * i + 2);
        }
        bytes32 seed = keccak256(abi.encode(BATCH_TAG, block.chainid, address(this), proofs, inputs));

        // Pairs 0..n-1: (-r_i A_i, B_i); pair n: (sum r_i * alpha, beta); pair n+1:
        // (sum r_i * vk_x_i, gamma); pair n+2: (sum r_i C_i, delta).
        uint256[] memory p = new uint256[](6 * (n + 3));
        uint256[] memory s = new uint256[](k + 1); // s[0] = sum r_i, s[j] = sum r_i x_ij
        uint256[2] memory cAcc; // (0, 0) is the point at infinity
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = i == 0 ? 1 : uint256(keccak256(abi.encode(seed, i))) % (R - 1) + 1;
            uint256[8] calldata pr = proofs[i];
            s[0] = addmod(s[0], r, R);
            for (uint256 j = 0; j < k; ++j) {
                s[j + 1] = addmod(s[j + 1], mulmod(r, inputs[i * k + j], R), R);
            }
            (uint256 ax, uint256 ay) = _mul(pr[0], pr[1], r);
            (uint256 cx, uint256 cy) = _mul(pr[6], pr[7], r);
            (cAcc[0], cAcc[1]) = _add(cAcc[0], cAcc[1], cx, cy);
            uint256 o = 6 * i;
            p[o] = ax;
            p[o + 1] = ay == 0 ? 0 : Q - ay;
            p[o + 2] = pr[2];
            p[o + 3] = pr[3];
            p[o + 4] = pr[4];
            p[o + 5] = pr[5];
        }
        uint256 b = 6 * n;
        (p[b], p[b + 1]) = _mul(ALPHA_X, ALPHA_Y, s[0]);
        (p[b + 2], p[b + 3], p[b + 4], p[b + 5]) = (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0);
        uint256[18] memory ic = _ic();
        (uint256 vx, uint256 vy) = _mul(ic[0], ic[1], s[0]);
        for (uint256 j = 1; j <= k; ++j) {
            (uint256 qx, uint256 qy) = _mul(ic[2 * j], ic[2 * j + 1], s[j]);
            (vx, vy) = _add(vx, vy, qx, qy);
        }
        (p[b + 6], p[b + 7]) = (vx, vy);
        (p[b + 8], p[b + 9], p[b + 10], p[b + 11]) = (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0);
        (p[b + 12], p[b + 13]) = (cAcc[0], cAcc[1]);
        (p[b + 14], p[b + 15], p[b + 16], p[b + 17]) = (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0);

        uint256 gasPairing = PAIRING_BASE_GAS + PAIRING_PAIR_GAS * (n + 3);
        bool success;
        assembly ("memory-safe") {
            let out := mload(0x40)
            success := staticcall(gasPairing, 0x08, add(p, 0x20), mul(mload(p), 0x20), out, 0x20)
            ok := and(success, mload(out))
        }
        if (!success) revert PrecompileFailed(8);
    }

    /// x * (px, py) through precompile 0x07; reverts with PrecompileFailed(7) on failure.
    function _mul(uint256 px, uint256 py, uint256 x) internal view returns (uint256 rx, uint256 ry) {
        if (x == 1) return (px, py);
        bool success;
        assembly ("memory-safe") {
            let t := mload(0x40)
            mstore(t, px)
            mstore(add(t, 0x20), py)
            mstore(add(t, 0x40), x)
            success := staticcall(gas(), 0x07, t, 0x60, t, 0x40)
            rx := mload(t)
            ry := mload(add(t, 0x20))
        }
        if (!success) revert PrecompileFailed(7);
    }

    /// (ax, ay) + (bx, by) through precompile 0x06; reverts with PrecompileFailed(6).
    function _add(uint256 ax, uint256 ay, uint256 bx, uint256 by) internal view returns (uint256 rx, uint256 ry) {
        bool success;
        assembly ("memory-safe") {
            let t := mload(0x40)
            mstore(t, ax)
            mstore(add(t, 0x20), ay)
            mstore(add(t, 0x40), bx)
            mstore(add(t, 0x60), by)
            success := staticcall(gas(), 0x06, t, 0x80, t, 0x40)
            rx := mload(t)
            ry := mload(add(t, 0x20))
        }
        if (!success) revert PrecompileFailed(6);
    }

    /// The input bases IC0..IC8 as (x, y) pairs (unused ones zero).
    function _ic() internal view returns (uint256[18] memory ic) {
        ic[0] = IC0X;
        ic[1] = IC0Y;
        ic[2] = IC1X;
        ic[3] = IC1Y;
        ic[4] = IC2X;
        ic[5] = IC2Y;
        ic[6] = IC3X;
        ic[7] = IC3Y;
        ic[8] = IC4X;
        ic[9] = IC4Y;
        ic[10] = IC5X;
        ic[11] = IC5Y;
        ic[12] = IC6X;
        ic[13] = IC6Y;
        ic[14] = IC7X;
        ic[15] = IC7Y;
        ic[16] = IC8X;
        ic[17] = IC8Y;
    }

    function _verify(uint256[8] calldata proof, uint256[] calldata input)
        internal
        view
        returns (bool ok)
    {
        uint256 n = numInputs;
        if (input.length != n) revert InputCount(n, input.length);
        for (uint256 i = 0; i < n; ++i) {
            if (input[i] >= R) revert InputNotInField(i);
        }
        for (uint256 i = 0; i < 8; ++i) {
            if (proof[i] >= Q) revert CoordinateNotInField(i);
        }
        if (!_onG1(proof[0], proof[1])) revert PointNotOnCurve(0);
        if (!_onG2(proof[2], proof[3], proof[4], proof[5])) revert PointNotOnCurve(1);
        if (!_onG1(proof[6], proof[7])) revert PointNotOnCurve(2);

        uint256[18] memory ic = _ic();

        // vk_x = IC0 + sum_i input[i] * IC(i+1), through 0x07 (mul) and 0x06 (add).
        uint256[24] memory p;
        uint256 failed;
        assembly ("memory-safe") {
            let acc := mload(0x40)
            mstore(acc, mload(ic))
            mstore(add(acc, 0x20), mload(add(ic, 0x20)))
            let t := add(acc, 0x40)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let b := add(ic, mul(add(i, 1), 0x40))
                mstore(t, mload(b))
                mstore(add(t, 0x20), mload(add(b, 0x20)))
                mstore(add(t, 0x40), calldataload(add(input.offset, mul(i, 0x20))))
                if iszero(staticcall(gas(), 0x07, t, 0x60, t, 0x40)) {
                    failed := 7
                    break
                }
                if iszero(staticcall(gas(), 0x06, acc, 0x80, acc, 0x40)) {
                    failed := 6
                    break
                }
            }
            mstore(add(p, 0x180), mload(acc))
            mstore(add(p, 0x1a0), mload(add(acc, 0x20)))
        }
        if (failed != 0) revert PrecompileFailed(failed);

        // e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
        p[0] = proof[0];
        p[1] = proof[1] == 0 ? 0 : Q - proof[1];
        p[2] = proof[2];
        p[3] = proof[3];
        p[4] = proof[4];
        p[5] = proof[5];
        p[6] = ALPHA_X;
        p[7] = ALPHA_Y;
        p[8] = BETA_X1;
        p[9] = BETA_X0;
        p[10] = BETA_Y1;
        p[11] = BETA_Y0;
        // p[12], p[13] hold vk_x
        p[14] = GAMMA_X1;
        p[15] = GAMMA_X0;
        p[16] = GAMMA_Y1;
        p[17] = GAMMA_Y0;
        p[18] = proof[6];
        p[19] = proof[7];
        p[20] = DELTA_X1;
        p[21] = DELTA_X0;
        p[22] = DELTA_Y1;
        p[23] = DELTA_Y0;
        bool success;
        uint256 gasPairing = PAIRING_GAS;
        assembly ("memory-safe") {
            let out := mload(0x40)
            success := staticcall(gasPairing, 0x08, p, 0x300, out, 0x20)
            ok := mload(out)
        }
        if (!success) revert PrecompileFailed(8);
    }

    /// Whether (x, y) is on y^2 = x^3 + 3, or the point at infinity (0, 0).
    function _onG1(uint256 x, uint256 y) internal pure returns (bool) {
        if (x == 0 && y == 0) return true;
        return mulmod(y, y, Q) == addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q);
    }

    function _g1Ok(uint256 x, uint256 y) internal pure returns (bool) {
        return x < Q && y < Q && _onG1(x, y);
    }

    function _g2Ok(uint256 x1, uint256 x0, uint256 y1, uint256 y0) internal pure returns (bool) {
        return x1 < Q && x0 < Q && y1 < Q && y0 < Q && _onG2(x1, x0, y1, y0);
    }

    /// Whether (x, y) in Fq2 (c1, c0 order) is on y^2 = x^3 + b', or all zeros.
    function _onG2(uint256 x1, uint256 x0, uint256 y1, uint256 y0) internal pure returns (bool) {
        if (x1 == 0 && x0 == 0 && y1 == 0 && y0 == 0) return true;
        // x^2 = (x0^2 - x1^2) + 2 x0 x1 u
        uint256 s0 = addmod(mulmod(x0, x0, Q), Q - mulmod(x1, x1, Q), Q);
        uint256 s1 = mulmod(2, mulmod(x0, x1, Q), Q);
        // x^3 = x^2 * x
        uint256 c0 = addmod(mulmod(s0, x0, Q), Q - mulmod(s1, x1, Q), Q);
        uint256 c1 = addmod(mulmod(s0, x1, Q), mulmod(s1, x0, Q), Q);
        // y^2
        uint256 t0 = addmod(mulmod(y0, y0, Q), Q - mulmod(y1, y1, Q), Q);
        uint256 t1 = mulmod(2, mulmod(y0, y1, Q), Q);
        return t0 == addmod(c0, B2_C0, Q) && t1 == addmod(c1, B2_C1, Q);
    }
}
