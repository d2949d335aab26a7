// Generates sealgrid's cryptographic test vectors from implementations nobody on the
// sealgrid team wrote: circomlibjs (iden3) and @zk-kit/eddsa-poseidon (PSE), both
// pinned by package-lock.json.
//
//   cd test-vectors && npm ci && node generate.mjs
//
// Writes vectors/*.json (decimal strings for field elements and scalars, lowercase hex
// for byte strings) and ../circuits/src/poseidon/constants.json (circomlib's Poseidon
// round constants and MDS matrices, which the Rust implementation embeds).
//
// Randomness is a SHA-256 counter stream from a fixed seed, so a rerun reproduces the
// committed files byte for byte.

import { buildPoseidonReference, buildBabyjub, buildEddsa } from "circomlibjs";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// @zk-kit/eddsa-poseidon's default entry derives keys with BLAKE2b; its "blake-1" entry
// is the circomlib-compatible one (BLAKE-512), which is the form sealgrid uses.
const zk = createRequire(import.meta.url)("@zk-kit/eddsa-poseidon/blake-1");
const out = join(here, "vectors");
mkdirSync(out, { recursive: true });

const PER_CASE = 24; // at least 20 vectors per primitive and case, as issue #2 asks

// ---- deterministic randomness -------------------------------------------------------
let counter = 0;
function randomBytes(n) {
  const chunks = [];
  let len = 0;
  while (len < n) {
    const h = createHash("sha256").update(`sealgrid-test-vectors/${counter++}`).digest();
    chunks.push(h);
    len += h.length;
  }
  return Buffer.concat(chunks).subarray(0, n);
}
function randomBelow(bound) {
  // 64 extra bits make the modular bias negligible.
  const bytes = randomBytes(Math.ceil(bound.toString(2).length / 8) + 8);
  return BigInt("0x" + bytes.toString("hex")) % bound;
}

const poseidon = await buildPoseidonReference();
const babyJub = await buildBabyjub();
const eddsa = await buildEddsa();
const F = babyJub.F;
const p = babyJub.p;
const subOrder = babyJub.subOrder;
const dec = (x) => F.toObject(x).toString();
const pt = (P) => [dec(P[0]), dec(P[1])];
const big = (s) => BigInt(s);
const toF = (x) => F.e(x.toString());

function write(name, obj) {
  writeFileSync(join(out, name), JSON.stringify(obj, null, 1) + "\n");
  console.log(`wrote vectors/${name}`);
}
const meta = (what) => ({
  generator: "test-vectors/generate.mjs",
  implementation: what,
  versions: {
    circomlibjs: JSON.parse(readFileSync(join(here, "node_modules/circomlibjs/package.json"))).version,
    "@zk-kit/eddsa-poseidon": JSON.parse(
      readFileSync(join(here, "node_modules/@zk-kit/eddsa-poseidon/package.json")),
    ).version,
  },
});

// ---- Poseidon constants ---------------------------------------------------------------
{
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("circomlibjs"));
  // require.resolve points into build/; the JSON lives in src/.
  const constants = JSON.parse(readFileSync(join(dir, "..", "src", "poseidon_constants.json")));
  const arities = constants.C.length;
  const file = {
    source: "circomlibjs src/poseidon_constants.json (reference Grain LFSR parameters, x^5 S-box, R_F = 8)",
    generator: "test-vectors/generate.mjs",
    n_rounds_f: 8,
    n_rounds_p: [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68].slice(0, arities),
    // C[t-2]: round constants for width t, flattened; M[t-2]: t x t MDS matrix, rows.
    c: constants.C,
    m: constants.M,
  };
  const target = join(here, "..", "circuits", "src", "poseidon", "constants.json");
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(file) + "\n");
  console.log("wrote circuits/src/poseidon/constants.json");
}

// ---- Poseidon -------------------------------------------------------------------------
{
  const vectors = [];
  for (let arity = 1; arity <= 16; arity++) {
    for (let i = 0; i < PER_CASE; i++) {
      const inputs = [];
      for (let j = 0; j < arity; j++) {
        // mix full-range values with small ones and edge values
        const r = i % 6;
        inputs.push(r === 0 ? BigInt(j) : r === 1 ? p - 1n - BigInt(j) : randomBelow(p));
      }
      vectors.push({
        inputs: inputs.map(String),
        output: dec(poseidon(inputs.map(toF))),
      });
    }
  }
  write("poseidon.json", { ...meta("circomlibjs buildPoseidonReference"), vectors });
}

// ---- Baby Jubjub ----------------------------------------------------------------------
function randomPoint() {
  return babyJub.mulPointEscalar(babyJub.Base8, randomBelow(subOrder - 1n) + 1n);
}
{
  const add = [];
  const mul = [];
  const decode = [];
  for (let i = 0; i < PER_CASE; i++) {
    const a = randomPoint();
    const b = i % 4 === 0 ? a : randomPoint(); // include doublings
    add.push({ a: pt(a), b: pt(b), sum: pt(babyJub.addPoint(a, b)) });
  }
  for (let i = 0; i < PER_CASE; i++) {
    const base = i % 3 === 0 ? babyJub.Base8 : randomPoint();
    // full 254-bit scalars too: circomlib reduces nothing, the group law does.
    const scalar = i % 4 === 1 ? subOrder - 1n : i % 4 === 2 ? randomBelow(1n << 254n) : randomBelow(subOrder);
    mul.push({ base: pt(base), scalar: scalar.toString(), result: pt(babyJub.mulPointEscalar(base, scalar)) });
  }
  // Decoding cases: valid subgroup points, points on the curve but outside the prime
  // order subgroup (Generator has order 8 * subOrder; small-order points), points off
  // the curve, and coordinates >= p (non-canonical).
  const small = [
    [0n, 1n],
    [0n, p - 1n],
  ];
  for (let i = 0; i < PER_CASE; i++) {
    const P = randomPoint();
    const packed = Buffer.from(babyJub.packPoint(P)).toString("hex");
    const back = babyJub.unpackPoint(Buffer.from(packed, "hex"));
    decode.push({
      point: pt(P),
      packed,
      on_curve: babyJub.inCurve(P),
      in_subgroup: babyJub.inSubgroup(P),
      unpacks: back !== null && F.eq(back[0], P[0]) && F.eq(back[1], P[1]),
      canonical: true,
    });
  }
  for (let i = 0; i < PER_CASE; i++) {
    // on the curve, outside the subgroup: a subgroup point plus a point of order 2, 4 or 8
    const G = babyJub.Generator;
    const low = babyJub.mulPointEscalar(G, subOrder * BigInt(1 + (i % 7)));
    const P = babyJub.addPoint(randomPoint(), low);
    decode.push({
      point: pt(P),
      on_curve: babyJub.inCurve(P),
      in_subgroup: babyJub.inSubgroup(P),
      canonical: true,
    });
  }
  for (const s of small) {
    const P = [toF(s[0]), toF(s[1])];
    decode.push({ point: pt(P), on_curve: babyJub.inCurve(P), in_subgroup: babyJub.inSubgroup(P), canonical: true });
  }
  for (let i = 0; i < PER_CASE; i++) {
    // off the curve: a valid point with y nudged
    const P = randomPoint();
    const Q = [P[0], F.add(P[1], F.e(1 + i))];
    decode.push({ point: pt(Q), on_curve: babyJub.inCurve(Q), in_subgroup: false, canonical: true });
  }
  for (let i = 0; i < PER_CASE; i++) {
    // non-canonical: a valid point with p added to one coordinate
    const P = randomPoint();
    const x = F.toObject(P[0]) + (i % 2 === 0 ? p : 0n);
    const y = F.toObject(P[1]) + (i % 2 === 1 ? p : 0n);
    decode.push({ point: [x.toString(), y.toString()], on_curve: true, in_subgroup: true, canonical: false });
  }
  write("babyjubjub.json", {
    ...meta("circomlibjs buildBabyjub"),
    a: dec(babyJub.A),
    d: dec(babyJub.D),
    generator: pt(babyJub.Generator),
    base8: pt(babyJub.Base8),
    order: babyJub.order.toString(),
    sub_order: subOrder.toString(),
    add,
    mul,
    decode,
  });
}

// ---- EdDSA-Poseidon -------------------------------------------------------------------
{
  const valid = [];
  const invalid = [];
  const same = (a, b) => a.toString() === b.toString();
  for (let i = 0; i < PER_CASE; i++) {
    const prv = randomBytes(32);
    const msg = i % 5 === 0 ? BigInt(i) : randomBelow(p);
    const A = eddsa.prv2pub(prv);
    const sig = eddsa.signPoseidon(prv, toF(msg));
    if (!eddsa.verifyPoseidon(toF(msg), sig, A)) throw new Error("circomlibjs rejects its own signature");
    // Cross-check with the second implementation.
    const zA = zk.derivePublicKey(prv);
    const zSig = zk.signMessage(prv, msg);
    if (!same(zA[0], dec(A[0])) || !same(zA[1], dec(A[1]))) throw new Error("public keys differ");
    if (!same(zSig.S, sig.S) || !same(zSig.R8[0], dec(sig.R8[0]))) throw new Error("signatures differ");
    if (!zk.verifySignature(msg, zSig, zA)) throw new Error("zk-kit rejects its own signature");
    const entry = {
      private_key: prv.toString("hex"),
      secret_scalar: zk.deriveSecretScalar(prv).toString(),
      public_key: pt(A),
      message: msg.toString(),
      r8: pt(sig.R8),
      s: sig.S.toString(),
      packed_signature: Buffer.from(eddsa.packSignature(sig)).toString("hex"),
    };
    valid.push(entry);

    // Invalid variants, each judged by both implementations.
    const variants = [
      ["wrong_message", { ...entry, message: ((msg + 1n) % p).toString() }],
      ["tampered_s", { ...entry, s: ((sig.S + 1n) % subOrder).toString() }],
      ["s_plus_order", { ...entry, s: (sig.S + subOrder).toString() }],
      ["tampered_r8", { ...entry, r8: pt(babyJub.addPoint(sig.R8, babyJub.Base8)) }],
      ["r8_off_curve", { ...entry, r8: [entry.r8[0], ((big(entry.r8[1]) + 1n) % p).toString()] }],
      ["other_key", { ...entry, public_key: pt(eddsa.prv2pub(randomBytes(32))) }],
    ];
    for (const [kind, v] of variants) {
      const R8 = [toF(v.r8[0]), toF(v.r8[1])];
      const Ap = [toF(v.public_key[0]), toF(v.public_key[1])];
      const S = big(v.s);
      let c = false;
      try {
        c = eddsa.verifyPoseidon(toF(v.message), { R8, S }, Ap);
      } catch (_) {
        c = false;
      }
      let z = false;
      try {
        z = zk.verifySignature(big(v.message), { R8: v.r8.map(big), S }, v.public_key.map(big));
      } catch (_) {
        z = false;
      }
      if (c || z) throw new Error(`an implementation accepts invalid variant ${kind}`);
      delete v.packed_signature;
      invalid.push({ kind, ...v });
    }
  }
  write("eddsa_poseidon.json", {
    ...meta("circomlibjs buildEddsa signPoseidon/verifyPoseidon, cross-checked with @zk-kit/eddsa-poseidon"),
    valid,
    invalid,
  });
}

// ---- Exponential ElGamal on Baby Jubjub -------------------------------------------------
// Not a circomlibjs primitive: the vectors are built from circomlibjs's group operations,
// (c1, c2) = (r * Base8, m * Base8 + r * PK) with PK = sk * Base8.
{
  const vectors = [];
  for (let i = 0; i < PER_CASE; i++) {
    const sk = randomBelow(subOrder - 1n) + 1n;
    const pk = babyJub.mulPointEscalar(babyJub.Base8, sk);
    const r = randomBelow(subOrder);
    const m = i % 4 === 0 ? BigInt(i) : randomBelow(1n << 40n);
    const c1 = babyJub.mulPointEscalar(babyJub.Base8, r);
    const c2 = babyJub.addPoint(babyJub.mulPointEscalar(babyJub.Base8, m), babyJub.mulPointEscalar(pk, r));
    vectors.push({ sk: sk.toString(), pk: pt(pk), r: r.toString(), m: m.toString(), c1: pt(c1), c2: pt(c2) });
  }
  write("elgamal.json", { ...meta("circomlibjs buildBabyjub group operations"), vectors });
}
