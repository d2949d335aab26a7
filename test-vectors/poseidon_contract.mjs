// Generates the on-chain Poseidon the market contract calls to compute a new account's
// empty free balance `H(0, 0, acct)` (docs/PROTOCOL.md §8, register): circomlib's
// Poseidon with 3 inputs, as EVM bytecode written by circomlibjs's
// `poseidonContract.createCode(3)` (pinned by package-lock.json). Nobody on the sealgrid
// team writes Poseidon in Solidity; the Rust tests check the deployed code against the
// circuits crate's Poseidon on random inputs.
//
//   cd test-vectors && npm ci && node poseidon_contract.mjs            write the artifact
//   node poseidon_contract.mjs --stdout                                print it (the Rust test)
//
// Writes ../verifier-contract/artifacts/Poseidon3.json: the ABI (`poseidon(uint256[3])`
// and `poseidon(bytes32[3])`) and the creation bytecode.
import { poseidonContract } from "circomlibjs";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const version = JSON.parse(
  readFileSync(join(here, "node_modules", "circomlibjs", "package.json"), "utf8"),
).version;
const INPUTS = 3;
const artifact = {
  contractName: "Poseidon3",
  generator: { package: "circomlibjs", version, call: `poseidonContract.createCode(${INPUTS})` },
  abi: poseidonContract.generateABI(INPUTS),
  bytecode: poseidonContract.createCode(INPUTS),
};
const text = JSON.stringify(artifact, null, 2) + "\n";
if (process.argv[2] === "--stdout") {
  process.stdout.write(text);
} else {
  const path = join(here, "..", "verifier-contract", "artifacts", "Poseidon3.json");
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path} (circomlibjs ${version})\n`);
}
