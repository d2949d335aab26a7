// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketClearing, ClearingRule} from "./MarketClearing.sol";
import {Inclusion} from "./Inclusion.sol";

interface IGroth16Verifier {
    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool);
    function verifyBatch(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool);
}

/// circomlib's Poseidon with 3 inputs, the bytecode circomlibjs's
/// `poseidonContract.createCode(3)` writes (artifacts/Poseidon3.json).
interface IPoseidon3 {
    function poseidon(uint256[3] memory input) external pure returns (uint256);
}

interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title sealgrid market: registry, confidential balances, rounds, clearing, settlement.
/// @notice docs/PROTOCOL.md is normative. Public inputs are passed in the order of
/// PROTOCOL §4.1 (balance), §4.2 (bid), §4.3 (settle). Round lifecycle:
/// Open -> Bidding -> Closed -> Cleared -> Settling -> Finalized, or Expired when the
/// committee does not finalize in time; a Closed round never cleared can be voided into
/// Cleared-as-not-cleared (PROTOCOL §8).
contract Market {
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// A signed delta d is read as +d when d < 2^128 and as -(R - d) when d > R - 2^128
    /// (PROTOCOL §4.1: every valid delta lies in (-2^65, 2^64)).
    uint256 internal constant DELTA_HALF = 1 << 128;
    /// Ciphertexts are passed and emitted one word per point (circomlib's packed form,
    /// read as a little-endian integer: y, and the sign of x in the top bit): a bid's
    /// 2K + 2 points; a settlement's C1' and three C2' points. The contract never reads
    /// them: the proof binds their digest, which readers check (PROTOCOL §3).
    uint256 internal constant SETTLE_CIPHERTEXT_WORDS = 4;
    bytes32 internal constant CLEAR_TAG = keccak256("sealgrid.clear.v1");
    bytes32 internal constant FINALIZE_TAG = keccak256("sealgrid.finalize.v1");
    /// secp256k1's n / 2: signatures with a larger s are refused (no malleability).
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    enum Phase {
        None,
        Open,
        Bidding,
        Closed,
        Cleared,
        Settling,
        Finalized,
        Expired
    }

    enum BidState {
        None,
        Live,
        Settled,
        Defaulted
    }

    enum PayoutState {
        None,
        Unspent,
        Spent,
        Void
    }

    struct Params {
        uint32 levels; // K
        uint32 kAnonymity; // minimum included bids for a round to clear
        uint32 maxUnsettled; // a bid needs unsettled < maxUnsettled
        uint32 maxDefaults; // a bid needs defaults < maxDefaults
    }

    struct Prosumer {
        uint256 meterId;
        uint256 free; // current free-balance commitment F
        uint32 unsettled;
        uint32 defaults;
        bool registered;
        bool suspended;
    }

    struct Round {
        Phase phase;
        uint64 bidDeadline;
        uint64 settleStart;
        uint64 settleDeadline;
        uint32 bids;
        uint32 settled;
        uint32 included;
        /// The committee epoch pinned at `openRound`: its members sign the round's clear
        /// and finalize, whatever committee is current by then.
        uint64 epoch;
        /// `params.levels` and `params.kAnonymity` at `openRound`: `setParams` does not
        /// change a round in flight.
        uint32 levels;
        uint32 kAnonymity;
        uint64 settleEnd; // effective settlement deadline, set when cleared (or voided)
        uint32 defaulted; // bids recorded as defaults (recordDefaults)
        uint256 clearing; // packed (PROTOCOL §4.3)
    }

    /// A bid's record, one storage slot: its round, index and state, and its account's
    /// tag (`_accountTag`): `recordDefaults` and `finalize` take the account from their
    /// caller and check it against the tag, instead of a second slot per bid holding
    /// the account.
    struct Bid {
        uint64 round;
        uint32 index;
        BidState state;
        uint152 accountTag;
    }

    /// A payout commitment's record, one storage slot: its state, and the round and bid
    /// index that made it (the payout is frozen until that round is terminal).
    struct Payout {
        PayoutState state;
        uint64 round;
        uint32 index;
    }

    /// PROTOCOL §4.1: acct, F_old, F_new, delta, P_in, recipient.
    struct BalanceInputs {
        uint256 acct;
        uint256 fOld;
        uint256 fNew;
        uint256 delta;
        uint256 pIn;
        uint256 recipient;
    }

    /// PROTOCOL §4.2: round, acct, F_old, F_new, B, D.
    struct BidInputs {
        uint256 round;
        uint256 acct;
        uint256 fOld;
        uint256 fNew;
        uint256 bid;
        uint256 digest;
    }

    /// PROTOCOL §4.3: round, acct, B, P_out, clearing, meter_id, E.
    struct SettleInputs {
        uint256 round;
        uint256 acct;
        uint256 bid;
        uint256 pOut;
        uint256 clearing;
        uint256 meterId;
        uint256 digest;
    }

    /// One bid of `submitBids`: `submitBid`'s arguments.
    struct BidItem {
        uint256[8] proof;
        BidInputs inp;
        uint256[] ciphertexts;
    }

    /// One settlement of `settleBatch`: `settle`'s arguments.
    struct SettleItem {
        uint256[8] proof;
        SettleInputs inp;
        uint256[] ciphertexts;
    }

    /// Decrypted aggregate settlement flows of a round and defaulters' locks.
    struct FlowTotals {
        uint256 pay;
        uint256 credit;
        uint256 penalty;
        uint256 defaultedLocks;
    }

    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // --- errors -------------------------------------------------------------------
    error NotOperator();
    /// `MarketClearing.HistogramTotal`, which `clear` passes on from the clearing rule's
    /// contract (declared here to be in this contract's interface).
    error HistogramTotal(uint256 total);
    error BadParams();
    error BadCommittee();
    error NotInField(uint256 value);
    error AlreadyRegistered(uint256 acct);
    error NotRegistered(uint256 acct);
    error AccountSuspended(uint256 acct);
    error TooManyUnsettled(uint256 acct, uint256 unsettled);
    error TooManyDefaults(uint256 acct, uint256 defaults);
    error StaleBalance(uint256 acct, uint256 current, uint256 given);
    error BadDelta(uint256 delta);
    error BadRecipient(uint256 recipient);
    error PayoutUnknown(uint256 payout);
    error PayoutSpent(uint256 payout);
    error PayoutExists(uint256 payout);
    error TokenTransferFailed();
    error InvalidProof();
    error RoundExists(uint64 round);
    error BadDeadlines();
    error WrongPhase(uint64 round, Phase phase);
    error DeadlinePassed(uint64 round);
    error TooEarly(uint64 round);
    error WrongRound(uint256 round);
    error BidReplay(uint256 bid);
    error UnknownBid(uint256 bid);
    error AlreadySettled(uint256 bid);
    error BadCiphertexts(uint256 words);
    error BadInclusion();
    error WrongClearing(uint256 expected, uint256 given);
    error WrongMeter(uint256 expected, uint256 given);
    error TooFewSignatures(uint256 got, uint256 needed);
    error BadSignature(uint256 index);
    error BadDefaulters();
    error NoCommittee();
    error NoPendingCommittee();
    error CommitteeNotYetActive(uint64 activatesAt);
    error MeterTaken(uint256 meterId);
    error AccountAlreadyBid(uint64 round, uint256 acct);
    error PayoutFrozen(uint256 payout, uint64 round);
    error PayoutVoid(uint256 payout);
    error DefaultsPending(uint64 round, uint256 remaining);
    error BadVoided(uint256 bid);

    // --- events -------------------------------------------------------------------
    event ParamsSet(uint32 levels, uint32 kAnonymity, uint32 maxUnsettled, uint32 maxDefaults);
    /// A committee proposed by the operator; it signs rounds opened from `activatesAt` on,
    /// once someone calls `activateCommittee` (at once for the very first committee).
    event CommitteeProposed(uint64 indexed epoch, address[] trustees, uint256 threshold, uint64 activatesAt);
    /// Committee `epoch` is current: rounds opened from now on are pinned to it.
    event CommitteeSet(uint64 indexed epoch, address[] trustees, uint256 threshold);
    event Registered(uint256 indexed acct, uint256 meterId, uint256 free);
    event SuspensionSet(uint256 indexed acct, bool suspended);
    event Deposited(uint256 indexed acct, uint256 amount, uint256 fNew, uint256 pIn);
    event Withdrawn(uint256 indexed acct, uint256 amount, address recipient, uint256 fNew, uint256 pIn);
    event RoundOpened(uint64 indexed round, uint64 bidDeadline, uint64 settleStart, uint64 settleDeadline);
    /// What a round was pinned to at `openRound`: its committee epoch and parameters.
    event RoundPinned(uint64 indexed round, uint64 epoch, uint32 levels, uint32 kAnonymity);
    event RoundPhase(uint64 indexed round, Phase phase);
    /// `digest` is the proof's D (PROTOCOL §4.2): trustees and auditors compare it with the
    /// digest of `ciphertexts`, so both must be read back from the chain.
    event BidSubmitted(
        uint64 indexed round,
        uint256 indexed acct,
        uint256 bid,
        uint32 index,
        uint256 fNew,
        uint256 digest,
        uint256[] ciphertexts
    );
    event RoundCleared(
        uint64 indexed round, bool cleared, uint256 level, uint256 volume, uint256 packed, uint32 includedBids
    );
    /// `digest` is the settle proof's E (PROTOCOL §4.3), as `BidSubmitted`'s D.
    event Settled(
        uint64 indexed round, uint256 indexed acct, uint256 bid, uint256 pOut, uint256 digest, uint256[] ciphertexts
    );
    event Defaulted(uint64 indexed round, uint256 indexed acct, uint256 bid);
    event RoundFinalized(uint64 indexed round, FlowTotals totals, int256 toOperator);
    /// The effective settlement deadline of a round, set when it is cleared or voided.
    event SettlementWindow(uint64 indexed round, uint64 settleEnd);
    /// A Closed round nobody cleared, voided after its settlement deadline: every bid
    /// settles against the "not cleared" packing.
    event RoundVoided(uint64 indexed round);
    /// A settlement whose posted flow ciphertexts do not digest to its proven E, voided
    /// by the committee at finalize: its payout is void and its bid counts as defaulted.
    event SettlementVoided(uint64 indexed round, uint256 indexed acct, uint256 bid, uint256 pOut);

    // --- state --------------------------------------------------------------------
    address public immutable operator;
    IERC20 public immutable token;
    IGroth16Verifier public immutable balanceVerifier;
    IGroth16Verifier public immutable bidVerifier;
    IGroth16Verifier public immutable settleVerifier;
    /// circomlib's Poseidon (3 inputs): `register` computes `H(0, 0, acct)` with it.
    IPoseidon3 public immutable poseidon;
    /// The clearing rule (`MarketClearing`), created by the constructor: a contract of
    /// its own to keep this one's code under EIP-170's limit.
    ClearingRule public immutable clearingRule;
    /// Seconds between `proposeCommittee` and the earliest `activateCommittee`.
    uint64 public immutable committeeDelay;

    Params public params;
    /// The current committee epoch (0: none yet). Epoch e's members and threshold stay
    /// stored for ever: a round signs with the epoch it was opened under.
    uint64 public committeeEpoch;
    mapping(uint64 => address[]) internal epochMembers;
    mapping(uint64 => uint256) internal epochThreshold;
    mapping(uint64 => mapping(address => bool)) internal epochMember;
    /// The proposed committee is epoch `committeeEpoch + 1`, stored in the epoch maps
    /// above; it becomes current at `activateCommittee` from `pendingActivatesAt` on
    /// (0: nothing pending).
    uint64 public pendingActivatesAt;

    mapping(uint256 => Prosumer) public prosumers;
    /// meter id => taken by a registered account (one account per meter).
    mapping(uint256 => bool) public meterTaken;
    /// account => word => bit `round % 256` of word `round / 256` set once the account
    /// bid in that round (one bid per account per round; a word covers 256 rounds, so
    /// most bids rewrite a warm non-zero word).
    mapping(uint256 => mapping(uint256 => uint256)) internal bidRounds;
    mapping(uint64 => Round) internal _rounds;
    /// round => word => inclusion bitmap over bid indices.
    mapping(uint64 => mapping(uint256 => uint256)) public inclusion;
    mapping(uint256 => Bid) public bids;
    mapping(uint256 => Payout) public payouts;

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    constructor(
        IERC20 token_,
        IGroth16Verifier balanceVerifier_,
        IGroth16Verifier bidVerifier_,
        IGroth16Verifier settleVerifier_,
        IPoseidon3 poseidon_,
        uint64 committeeDelay_,
        Params memory params_
    ) {
        operator = msg.sender;
        token = token_;
        balanceVerifier = balanceVerifier_;
        bidVerifier = bidVerifier_;
        settleVerifier = settleVerifier_;
        poseidon = poseidon_;
        clearingRule = new ClearingRule();
        committeeDelay = committeeDelay_;
        _setParams(params_);
    }

    // --- operator -----------------------------------------------------------------

    function setParams(Params calldata p) external onlyOperator {
        _setParams(p);
    }

    function _setParams(Params memory p) internal {
        if (p.levels < 2 || p.levels > 16) revert BadParams();
        params = p;
        emit ParamsSet(p.levels, p.kAnonymity, p.maxUnsettled, p.maxDefaults);
    }

    /// Proposes the t-of-n committee of the next epoch. It becomes current only through
    /// `activateCommittee`, `committeeDelay` seconds from now, and signs only rounds
    /// opened after that: a round in flight keeps the committee it was opened under.
    /// The very first committee (none current yet) is current at once. A new proposal
    /// replaces a pending one (and restarts the delay).
    function proposeCommittee(address[] calldata members, uint256 t) external onlyOperator {
        if (t == 0 || t > members.length) revert BadCommittee();
        uint64 next = committeeEpoch + 1;
        mapping(address => bool) storage isMember = epochMember[next];
        address[] storage old = epochMembers[next];
        for (uint256 i = 0; i < old.length; ++i) {
            isMember[old[i]] = false;
        }
        for (uint256 i = 0; i < members.length; ++i) {
            if (members[i] == address(0) || isMember[members[i]]) revert BadCommittee();
            isMember[members[i]] = true;
        }
        epochMembers[next] = members;
        epochThreshold[next] = t;
        uint64 activatesAt = committeeEpoch == 0 ? uint64(block.timestamp) : uint64(block.timestamp) + committeeDelay;
        pendingActivatesAt = activatesAt;
        emit CommitteeProposed(next, members, t, activatesAt);
        if (committeeEpoch == 0) _activateCommittee();
    }

    /// Makes the proposed committee current, by anyone once its delay has passed.
    function activateCommittee() external {
        uint64 at = pendingActivatesAt;
        if (at == 0) revert NoPendingCommittee();
        if (block.timestamp < at) revert CommitteeNotYetActive(at);
        _activateCommittee();
    }

    function _activateCommittee() internal {
        uint64 epoch = committeeEpoch + 1;
        committeeEpoch = epoch;
        pendingActivatesAt = 0;
        emit CommitteeSet(epoch, epochMembers[epoch], epochThreshold[epoch]);
    }

    /// Registers a prosumer with an empty free balance: the contract computes the
    /// commitment `F = H(0, 0, acct)` itself (circomlib's Poseidon), so no account can
    /// start with tokens it never deposited. One account per meter (`MeterTaken`).
    function register(uint256 acct, uint256 meterId) external onlyOperator {
        if (acct >= R) revert NotInField(acct);
        if (meterId >= R) revert NotInField(meterId);
        Prosumer storage p = prosumers[acct];
        if (p.registered) revert AlreadyRegistered(acct);
        if (meterTaken[meterId]) revert MeterTaken(meterId);
        meterTaken[meterId] = true;
        uint256 free = poseidon.poseidon([uint256(0), uint256(0), acct]);
        p.registered = true;
        p.meterId = meterId;
        p.free = free;
        emit Registered(acct, meterId, free);
    }

    function setSuspended(uint256 acct, bool suspended) external onlyOperator {
        Prosumer storage p = prosumers[acct];
        if (!p.registered) revert NotRegistered(acct);
        p.suspended = suspended;
        emit SuspensionSet(acct, suspended);
    }

    // --- balances (PROTOCOL §4.1) ---------------------------------------------------

    /// Moves `delta >= 0` tokens from the caller into the account's free balance (and
    /// merges the payout `pIn` if non-zero). The caller must have approved the market.
    function deposit(uint256[8] calldata proof, BalanceInputs calldata inp) external {
        if (inp.delta >= DELTA_HALF) revert BadDelta(inp.delta);
        _balanceUpdate(proof, inp);
        if (inp.delta > 0 && !token.transferFrom(msg.sender, address(this), inp.delta)) {
            revert TokenTransferFailed();
        }
        emit Deposited(inp.acct, inp.delta, inp.fNew, inp.pIn);
    }

    /// EIP-712 (PROTOCOL §8): a payer signs typed data a wallet can display, the domain
    /// `sealgrid` version 1 on this chain and market, the struct `Deposit`.
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant DEPOSIT_TYPEHASH = keccak256(
        "Deposit(address payer,uint256 acct,uint256 fOld,uint256 fNew,uint256 delta,uint256 pIn,uint256 recipient)"
    );
    bytes32 internal constant EIP712_NAME_HASH = keccak256("sealgrid");
    bytes32 internal constant EIP712_VERSION_HASH = keccak256("1");

    /// The EIP-712 domain separator (computed per call: `block.chainid` follows a fork).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(EIP712_DOMAIN_TYPEHASH, EIP712_NAME_HASH, EIP712_VERSION_HASH, block.chainid, address(this))
        );
    }

    /// The digest a payer signs to have its deposit into `inp.acct` relayed by someone
    /// else (the coordinator, which pays the gas): the EIP-712 hash of
    /// `Deposit(payer, acct, fOld, fNew, delta, pIn, recipient)`.
    function depositDigest(address payer, BalanceInputs calldata inp) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(DEPOSIT_TYPEHASH, payer, inp.acct, inp.fOld, inp.fNew, inp.delta, inp.pIn, inp.recipient)
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// A deposit sent by anyone on the payer's behalf: the payer signed
    /// `depositDigest(payer, inp)` and approved the market on the token; the tokens move
    /// from the payer. The signature binds the account, both commitments and the amount,
    /// and cannot be used twice: the first use spends `inp.fOld`.
    function depositFor(address payer, uint256[8] calldata proof, BalanceInputs calldata inp, Signature calldata sig)
        external
    {
        if (inp.delta >= DELTA_HALF) revert BadDelta(inp.delta);
        if (uint256(sig.s) > HALF_N) revert BadSignature(0);
        address signer = ecrecover(depositDigest(payer, inp), sig.v, sig.r, sig.s);
        if (signer == address(0) || signer != payer) revert BadSignature(0);
        _balanceUpdate(proof, inp);
        if (inp.delta > 0 && !token.transferFrom(payer, address(this), inp.delta)) {
            revert TokenTransferFailed();
        }
        emit Deposited(inp.acct, inp.delta, inp.fNew, inp.pIn);
    }

    /// Moves `-delta` tokens out of the account's free balance to `recipient`.
    function withdraw(uint256[8] calldata proof, BalanceInputs calldata inp) external {
        if (inp.delta <= R - DELTA_HALF || inp.delta >= R) revert BadDelta(inp.delta);
        if (inp.recipient >> 160 != 0) revert BadRecipient(inp.recipient);
        _balanceUpdate(proof, inp);
        uint256 amount = R - inp.delta;
        address to = address(uint160(inp.recipient));
        if (!token.transfer(to, amount)) revert TokenTransferFailed();
        emit Withdrawn(inp.acct, amount, to, inp.fNew, inp.pIn);
    }

    function _balanceUpdate(uint256[8] calldata proof, BalanceInputs calldata inp) internal {
        Prosumer storage p = prosumers[inp.acct];
        if (!p.registered) revert NotRegistered(inp.acct);
        if (p.free != inp.fOld) revert StaleBalance(inp.acct, p.free, inp.fOld);
        if (inp.pIn != 0) {
            Payout storage po = payouts[inp.pIn];
            PayoutState s = po.state;
            if (s == PayoutState.None) revert PayoutUnknown(inp.pIn);
            if (s == PayoutState.Spent) revert PayoutSpent(inp.pIn);
            if (s == PayoutState.Void) revert PayoutVoid(inp.pIn);
            uint64 round = po.round;
            Phase ph = _rounds[round].phase;
            if (ph != Phase.Finalized && ph != Phase.Expired) revert PayoutFrozen(inp.pIn, round);
            po.state = PayoutState.Spent;
        }
        uint256[] memory x = new uint256[](6);
        (x[0], x[1], x[2], x[3], x[4], x[5]) = (inp.acct, inp.fOld, inp.fNew, inp.delta, inp.pIn, inp.recipient);
        if (!balanceVerifier.verifyProof(proof, x)) revert InvalidProof();
        p.free = inp.fNew;
    }

    // --- rounds ---------------------------------------------------------------------

    function openRound(uint64 round, uint64 bidDeadline, uint64 settleStart, uint64 settleDeadline)
        external
        onlyOperator
    {
        Round storage r = _rounds[round];
        if (r.phase != Phase.None) revert RoundExists(round);
        if (!(bidDeadline <= settleStart && settleStart <= settleDeadline)) revert BadDeadlines();
        uint64 epoch = committeeEpoch;
        if (epoch == 0) revert NoCommittee();
        Params memory par = params;
        r.phase = Phase.Open;
        r.bidDeadline = bidDeadline;
        r.settleStart = settleStart;
        r.settleDeadline = settleDeadline;
        r.epoch = epoch;
        r.levels = par.levels;
        r.kAnonymity = par.kAnonymity;
        emit RoundOpened(round, bidDeadline, settleStart, settleDeadline);
        emit RoundPinned(round, epoch, par.levels, par.kAnonymity);
    }

    function startBidding(uint64 round) external onlyOperator {
        Round storage r = _rounds[round];
        _expectPhase(round, r.phase, Phase.Open);
        if (block.timestamp >= r.bidDeadline) revert DeadlinePassed(round);
        _setPhase(round, r, Phase.Bidding);
    }

    /// Closes bidding: the operator at any time, anyone once the deadline has passed.
    function closeRound(uint64 round) external {
        Round storage r = _rounds[round];
        _expectPhase(round, r.phase, Phase.Bidding);
        if (msg.sender != operator && block.timestamp < r.bidDeadline) revert TooEarly(round);
        _setPhase(round, r, Phase.Closed);
    }

    /// Posts a sealed bid (PROTOCOL §4.2) with its 2K + 2 packed ciphertext points.
    function submitBid(uint256[8] calldata proof, BidInputs calldata inp, uint256[] calldata ciphertexts)
        external
    {
        if (!bidVerifier.verifyProof(proof, _acceptBid(inp, ciphertexts))) revert InvalidProof();
    }

    /// Posts many sealed bids in one transaction, all or none: each is checked as by
    /// `submitBid`, and their proofs together by one random linear combination
    /// (PROTOCOL §4.4).
    function submitBids(BidItem[] calldata items) external {
        uint256 n = items.length;
        uint256[8][] memory proofs = new uint256[8][](n);
        uint256[] memory x = new uint256[](6 * n);
        for (uint256 i = 0; i < n; ++i) {
            uint256[] memory xi = _acceptBid(items[i].inp, items[i].ciphertexts);
            proofs[i] = items[i].proof;
            for (uint256 j = 0; j < 6; ++j) {
                x[6 * i + j] = xi[j];
            }
        }
        if (!bidVerifier.verifyBatch(proofs, x)) revert InvalidProof();
    }

    /// Checks a bid but its proof and records it; returns its public inputs, in the
    /// order of PROTOCOL §4.2, for the caller to verify the proof against (the
    /// transaction reverts, records and event included, if the proof fails).
    function _acceptBid(BidInputs calldata inp, uint256[] calldata ciphertexts)
        internal
        returns (uint256[] memory x)
    {
        if (inp.round >> 64 != 0) revert WrongRound(inp.round);
        uint64 round = uint64(inp.round);
        Round storage r = _rounds[round];
        _expectPhase(round, r.phase, Phase.Bidding);
        if (block.timestamp >= r.bidDeadline) revert DeadlinePassed(round);
        if (bids[inp.bid].state != BidState.None) revert BidReplay(inp.bid);
        // qualification auditing
        Prosumer storage p = prosumers[inp.acct];
        if (!p.registered) revert NotRegistered(inp.acct);
        if (p.suspended) revert AccountSuspended(inp.acct);
        Params memory par = params;
        if (p.unsettled >= par.maxUnsettled) revert TooManyUnsettled(inp.acct, p.unsettled);
        if (p.defaults >= par.maxDefaults) revert TooManyDefaults(inp.acct, p.defaults);
        if (p.free != inp.fOld) revert StaleBalance(inp.acct, p.free, inp.fOld);
        if (ciphertexts.length != 2 * (uint256(r.levels) + 1)) revert BadCiphertexts(ciphertexts.length);
        _markBid(round, inp.acct);

        x = new uint256[](6);
        (x[0], x[1], x[2], x[3], x[4], x[5]) = (inp.round, inp.acct, inp.fOld, inp.fNew, inp.bid, inp.digest);

        uint32 index = r.bids;
        r.bids = index + 1;
        bids[inp.bid] = Bid({round: round, index: index, state: BidState.Live, accountTag: _accountTag(inp.bid, inp.acct)});
        p.free = inp.fNew;
        p.unsettled += 1;
        emit BidSubmitted(round, inp.acct, inp.bid, index, inp.fNew, inp.digest, ciphertexts);
    }

    /// The digest trustees sign to clear a round of `bidCount` accepted bids: a
    /// signature over a view of fewer bids than the round ended with is not accepted.
    function clearDigest(
        uint64 round,
        uint32 bidCount,
        uint64[] calldata hBuy,
        uint64[] calldata hSell,
        uint256[] calldata included
    ) public view returns (bytes32) {
        return keccak256(abi.encode(CLEAR_TAG, block.chainid, address(this), round, bidCount, hBuy, hSell, included));
    }

    /// Clears a closed round from the committee-decrypted histograms. `included` is a
    /// bitmap over bid indices (bit i of word i / 256) of the bids whose ciphertexts
    /// went into the histograms.
    function clear(
        uint64 round,
        uint64[] calldata hBuy,
        uint64[] calldata hSell,
        uint256[] calldata included,
        Signature[] calldata sigs
    ) external {
        Round storage r = _rounds[round];
        _expectPhase(round, r.phase, Phase.Closed);
        _checkSignatures(r.epoch, clearDigest(round, r.bids, hBuy, hSell, included), sigs);
        (bool ok, uint256 count) = Inclusion.record(inclusion[round], r.bids, included);
        if (!ok) revert BadInclusion();
        if (hBuy.length != r.levels) revert MarketClearing.HistogramShape(hBuy.length, hSell.length);
        (MarketClearing.Result memory c, uint256 packed) = clearingRule.clear(hBuy, hSell, count, r.kAnonymity);
        r.clearing = packed;
        r.included = uint32(count);
        emit RoundCleared(round, c.cleared, c.level, c.volume, r.clearing, uint32(count));
        _startSettlement(round, r);
        _setPhase(round, r, Phase.Cleared);
    }

    /// Settles one bid (PROTOCOL §4.3) with its settlement flow ciphertexts.
    function settle(uint256[8] calldata proof, SettleInputs calldata inp, uint256[] calldata ciphertexts) external {
        if (!settleVerifier.verifyProof(proof, _acceptSettlement(inp, ciphertexts))) revert InvalidProof();
    }

    /// Settles many bids in one transaction, all or none: each is checked as by
    /// `settle`, and their proofs together by one random linear combination
    /// (PROTOCOL §4.4).
    function settleBatch(SettleItem[] calldata items) external {
        uint256 n = items.length;
        uint256[8][] memory proofs = new uint256[8][](n);
        uint256[] memory x = new uint256[](7 * n);
        for (uint256 i = 0; i < n; ++i) {
            uint256[] memory xi = _acceptSettlement(items[i].inp, items[i].ciphertexts);
            proofs[i] = items[i].proof;
            for (uint256 j = 0; j < 7; ++j) {
                x[7 * i + j] = xi[j];
            }
        }
        if (!settleVerifier.verifyBatch(proofs, x)) revert InvalidProof();
    }

    /// Checks a settlement but its proof and records it; returns its public inputs in
    /// the order of PROTOCOL §4.3 (as `_acceptBid`).
    function _acceptSettlement(SettleInputs calldata inp, uint256[] calldata ciphertexts)
        internal
        returns (uint256[] memory x)
    {
        if (inp.round >> 64 != 0) revert WrongRound(inp.round);
        uint64 round = uint64(inp.round);
        Round storage r = _rounds[round];
        if (r.phase != Phase.Cleared && r.phase != Phase.Settling) revert WrongPhase(round, r.phase);
        if (block.timestamp < r.settleStart) revert TooEarly(round);
        if (block.timestamp > r.settleEnd) revert DeadlinePassed(round);
        Bid storage b = bids[inp.bid];
        if (b.state == BidState.None) revert UnknownBid(inp.bid);
        if (b.round != round) revert WrongRound(inp.round);
        if (b.state != BidState.Live) revert AlreadySettled(inp.bid);
        Prosumer storage p = prosumers[inp.acct];
        if (p.meterId != inp.meterId) revert WrongMeter(p.meterId, inp.meterId);
        uint256 expected = _isIncluded(round, b.index) ? r.clearing : MarketClearing.packedNotCleared();
        if (inp.clearing != expected) revert WrongClearing(expected, inp.clearing);
        if (payouts[inp.pOut].state != PayoutState.None) revert PayoutExists(inp.pOut);
        if (ciphertexts.length != SETTLE_CIPHERTEXT_WORDS) revert BadCiphertexts(ciphertexts.length);

        x = new uint256[](7);
        x[0] = inp.round;
        x[1] = inp.acct;
        x[2] = inp.bid;
        x[3] = inp.pOut;
        x[4] = inp.clearing;
        x[5] = inp.meterId;
        x[6] = inp.digest;

        b.state = BidState.Settled;
        payouts[inp.pOut] = Payout({state: PayoutState.Unspent, round: round, index: b.index});
        p.unsettled -= 1;
        r.settled += 1;
        if (r.phase == Phase.Cleared) _setPhase(round, r, Phase.Settling);
        emit Settled(round, inp.acct, inp.bid, inp.pOut, inp.digest, ciphertexts);
    }

    /// Voids a round that is still Closed (the committee never cleared it) after its
    /// settlement deadline; anyone may call it. The round becomes Cleared as "not
    /// cleared" (every bid settles against `MarketClearing.packedNotCleared()`: fill 0,
    /// the whole lock back) with a fresh settlement window from now.
    function voidRound(uint64 round) external {
        Round storage r = _rounds[round];
        _expectPhase(round, r.phase, Phase.Closed);
        if (block.timestamp <= r.settleDeadline) revert TooEarly(round);
        r.clearing = MarketClearing.packedNotCleared();
        emit RoundVoided(round);
        _startSettlement(round, r);
        _setPhase(round, r, Phase.Cleared);
    }

    /// Records as defaults bids of `round` still Live after its effective settlement
    /// deadline; anyone may call it, in pages (PROTOCOL §8). `accounts[i]` is the
    /// account that posted `defaulted[i]` (its `BidSubmitted` event says), checked
    /// against the bid's record. A bid already recorded is skipped; a bid of another
    /// round, unknown or settled, or another account, is refused.
    function recordDefaults(uint64 round, uint256[] calldata defaulted, uint256[] calldata accounts) external {
        Round storage r = _rounds[round];
        if (r.phase != Phase.Cleared && r.phase != Phase.Settling) revert WrongPhase(round, r.phase);
        if (block.timestamp <= r.settleEnd) revert TooEarly(round);
        if (accounts.length != defaulted.length) revert BadDefaulters();
        uint32 recorded = 0;
        for (uint256 i = 0; i < defaulted.length; ++i) {
            Bid storage b = bids[defaulted[i]];
            if (b.round != round) revert BadDefaulters();
            BidState s = b.state;
            if (s == BidState.Defaulted) continue;
            if (s != BidState.Live) revert BadDefaulters();
            uint256 acct = accounts[i];
            if (b.accountTag != _accountTag(defaulted[i], acct)) revert BadDefaulters();
            b.state = BidState.Defaulted;
            Prosumer storage p = prosumers[acct];
            if (!p.registered) revert BadDefaulters();
            p.unsettled -= 1;
            p.defaults += 1;
            ++recorded;
            emit Defaulted(round, acct, defaulted[i]);
        }
        r.defaulted += recorded;
    }

    /// The digest trustees sign to finalize a round: the decrypted totals, the number of
    /// recorded defaults and the settled bids whose settlement is voided.
    function finalizeDigest(uint64 round, FlowTotals calldata totals, uint32 defaulted, uint256[] calldata voided)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(FINALIZE_TAG, block.chainid, address(this), round, totals, defaulted, voided));
    }

    /// After the effective settlement deadline, once every bid is settled or recorded as
    /// a default (`recordDefaults`): voids the settlements the committee names (their
    /// posted flow ciphertexts do not digest to their proven E; `voidedPayouts[i]` is
    /// the payout `voided[i]`'s settlement made, `voidedAccounts[i]` the account that
    /// posted it, checked against the bid's record), counting their bids as defaults, and
    /// pays the operator the residual `pay + penalty - credit + defaultedLocks` (a
    /// negative residual, rounding dust bought by the grid, is drawn from the operator).
    /// With fewer than k-anonymity defaulters (voided included) and more than 0, their
    /// locks are not decrypted: `defaultedLocks` must be 0 and they stay in the market.
    function finalize(
        uint64 round,
        FlowTotals calldata totals,
        uint256[] calldata voided,
        uint256[] calldata voidedPayouts,
        uint256[] calldata voidedAccounts,
        Signature[] calldata sigs
    ) external {
        Round storage r = _rounds[round];
        if (r.phase != Phase.Cleared && r.phase != Phase.Settling) revert WrongPhase(round, r.phase);
        if (block.timestamp <= r.settleEnd) revert TooEarly(round);
        uint256 pending = uint256(r.bids) - r.settled - r.defaulted;
        if (pending != 0) revert DefaultsPending(round, pending);
        _checkSignatures(r.epoch, finalizeDigest(round, totals, r.defaulted, voided), sigs);
        if (voidedPayouts.length != voided.length || voidedAccounts.length != voided.length) revert BadVoided(0);
        for (uint256 i = 0; i < voided.length; ++i) {
            _voidSettlement(round, voided[i], voidedPayouts[i], voidedAccounts[i]);
        }
        uint256 defaulters = uint256(r.defaulted) + voided.length;
        if (defaulters > 0 && defaulters < params.kAnonymity && totals.defaultedLocks != 0) revert BadDefaulters();
        int256 toOperator = int256(totals.pay) + int256(totals.penalty) - int256(totals.credit)
            + int256(totals.defaultedLocks);
        _setPhase(round, r, Phase.Finalized);
        emit RoundFinalized(round, totals, toOperator);
        if (toOperator > 0) {
            if (!token.transfer(operator, uint256(toOperator))) revert TokenTransferFailed();
        } else if (toOperator < 0) {
            if (!token.transferFrom(operator, address(this), uint256(-toOperator))) revert TokenTransferFailed();
        }
    }

    /// A cleared round the committee has not finalized within one settlement window
    /// after its effective deadline, every bid settled or recorded as a default: anyone
    /// may end it. Its payouts become spendable; nothing is paid to the operator (the
    /// residual stays in the market).
    function expire(uint64 round) external {
        Round storage r = _rounds[round];
        if (r.phase != Phase.Cleared && r.phase != Phase.Settling) revert WrongPhase(round, r.phase);
        if (block.timestamp <= uint256(r.settleEnd) + (r.settleDeadline - r.settleStart)) revert TooEarly(round);
        uint256 pending = uint256(r.bids) - r.settled - r.defaulted;
        if (pending != 0) revert DefaultsPending(round, pending);
        _setPhase(round, r, Phase.Expired);
    }

    function _voidSettlement(uint64 round, uint256 bid, uint256 pOut, uint256 acct) internal {
        Bid storage b = bids[bid];
        Payout storage po = payouts[pOut];
        if (
            b.round != round || b.state != BidState.Settled || po.state != PayoutState.Unspent || po.round != round
                || po.index != b.index || b.accountTag != _accountTag(bid, acct) || !prosumers[acct].registered
        ) revert BadVoided(bid);
        b.state = BidState.Defaulted;
        po.state = PayoutState.Void;
        prosumers[acct].defaults += 1;
        emit SettlementVoided(round, acct, bid, pOut);
    }

    // --- views ----------------------------------------------------------------------

    /// A round's record (one struct: the field list is too long for a generated getter's
    /// stack).
    function rounds(uint64 round) external view returns (Round memory) {
        return _rounds[round];
    }

    /// The current committee: members and threshold (empty, 0 before the first).
    function committee() external view returns (address[] memory, uint256) {
        return (epochMembers[committeeEpoch], epochThreshold[committeeEpoch]);
    }

    /// Committee `epoch`'s members and threshold (the pending one at `committeeEpoch + 1`).
    function committeeAt(uint64 epoch) external view returns (address[] memory, uint256) {
        return (epochMembers[epoch], epochThreshold[epoch]);
    }

    /// Whether `a` is a member of the current committee.
    function isTrustee(address a) external view returns (bool) {
        return epochMember[committeeEpoch][a];
    }

    /// The current committee's threshold.
    function threshold() external view returns (uint256) {
        return epochThreshold[committeeEpoch];
    }

    /// Whether account `acct` bid in `round`.
    function hasBid(uint64 round, uint256 acct) external view returns (bool) {
        return (bidRounds[acct][round >> 8] >> (round & 0xff)) & 1 == 1;
    }

    function isIncluded(uint64 round, uint32 index) external view returns (bool) {
        return _isIncluded(round, index);
    }

    // --- internals ------------------------------------------------------------------

    /// The account tag bid `bid`'s record keeps (`Bid.accountTag`): the low 152 bits of
    /// keccak256 of the bid and its account. Another account with the same tag for a
    /// given bid is a 2^152 search, even for whoever chose both the bid and the
    /// accounts (the bid takes part in the hash, so a collision found once serves no
    /// other bid); a charged account must also be registered.
    function _accountTag(uint256 bid, uint256 acct) internal pure returns (uint152) {
        return uint152(uint256(keccak256(abi.encode(bid, acct))));
    }

    function _isIncluded(uint64 round, uint32 index) internal view returns (bool) {
        return Inclusion.contains(inclusion[round], index);
    }

    /// One bid per account per round (`AccountAlreadyBid`): the k-anonymity floor
    /// counts accounts, and one meter reading backs at most one sell bid.
    function _markBid(uint64 round, uint256 acct) internal {
        mapping(uint256 => uint256) storage seen = bidRounds[acct];
        uint256 word = seen[round >> 8];
        uint256 bit = uint256(1) << (round & 0xff);
        if (word & bit != 0) revert AccountAlreadyBid(round, acct);
        seen[round >> 8] = word | bit;
    }

    function _expectPhase(uint64 round, Phase got, Phase want) internal pure {
        if (got != want) revert WrongPhase(round, got);
    }

    /// Opens the settlement window of a round being cleared (or voided) now: it ends at
    /// `max(settleDeadline, now + (settleDeadline - settleStart))`, so a late clear does
    /// not shorten it.
    function _startSettlement(uint64 round, Round storage r) internal {
        uint256 end = block.timestamp + (r.settleDeadline - r.settleStart);
        if (end < r.settleDeadline) end = r.settleDeadline;
        r.settleEnd = uint64(end);
        emit SettlementWindow(round, uint64(end));
    }

    function _setPhase(uint64 round, Round storage r, Phase phase) internal {
        r.phase = phase;
        emit RoundPhase(round, phase);
    }

    /// At least `threshold` valid signatures by distinct members of committee `epoch`
    /// (the round's, pinned at `openRound`), in strictly increasing signer order (which
    /// makes them distinct), with low s.
    function _checkSignatures(uint64 epoch, bytes32 digest, Signature[] calldata sigs) internal view {
        mapping(address => bool) storage isMember = epochMember[epoch];
        uint256 t = epochThreshold[epoch];
        if (sigs.length < t || t == 0) revert TooFewSignatures(sigs.length, t);
        address last;
        for (uint256 i = 0; i < sigs.length; ++i) {
            Signature calldata s = sigs[i];
            if (uint256(s.s) > HALF_N) {
                revert BadSignature(i);
            }
            address signer = ecrecover(digest, s.v, s.r, s.s);
            if (signer == address(0) || !isMember[signer] || signer <= last) revert BadSignature(i);
            last = signer;
        }
    }
}
