// Compiles ../contracts/*.sol with the pinned solc-js (package-lock.json) into
// ../artifacts/<Contract>.json: abi, bytecode, deployedBytecode, the compiler version
// and settings, and the SHA-256 of the sources.
//
//   node compile.mjs           write the artifacts
//   node compile.mjs --check   exit 1 if the committed artifacts differ
//   node compile.mjs --stdout  print the artifacts as one JSON object (for the Rust test)
//
// The Rust crate's `sources_match_artifacts` test recomputes the sources' SHA-256
// without node; `artifacts_match_compiler` runs `--stdout` and compares byte for byte.
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const here = dirname(fileURLToPath(import.meta.url));
const contractsDir = join(here, "..", "contracts");
const artifactsDir = join(here, "..", "artifacts");

// Two EVM targets, the same sources and optimizer:
// - Shanghai (artifacts/<Contract>.json): the newest EVM version ganache runs (no Cancun
//   opcodes);
// - London (artifacts/london/<Contract>.json): no PUSH0, for chains that have not taken
//   Shanghai (Energy Web Chain and other proof-of-authority chains). Only what a market
//   deploys: the verifier, the market and the test token.
// The optimizer is on for gas; viaIR stays off (slower to compile).
const optimizer = { enabled: true, runs: 200 };
const outputSelection = { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } };
const TARGETS = [
  { evmVersion: "shanghai", prefix: "", deployable: ["ClearingHarness", "Groth16Verifier", "Market", "TestToken"] },
  { evmVersion: "london", prefix: "london/", deployable: ["Groth16Verifier", "Market", "TestToken"] },
];

const files = readdirSync(contractsDir).filter((f) => f.endsWith(".sol")).sort();
const sources = {};
for (const f of files) sources[f] = { content: readFileSync(join(contractsDir, f), "utf8") };

// SHA-256 over "name\0content\0" for every source, in name order.
const hash = createHash("sha256");
for (const f of files) {
  hash.update(f);
  hash.update("\0");
  hash.update(sources[f].content);
  hash.update("\0");
}
const sourcesSha256 = hash.digest("hex");

// Deployable contracts only: interfaces and the internal-only library have no
// artifact of their own.
const artifacts = {};
for (const target of TARGETS) {
  const settings = { evmVersion: target.evmVersion, optimizer, outputSelection };
  const out = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings })));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  for (const e of out.errors || []) process.stderr.write(e.formattedMessage + "\n");
  if (errors.length > 0) process.exit(1);
  for (const f of files) {
    for (const [name, c] of Object.entries(out.contracts[f] || {})) {
      if (!target.deployable.includes(name)) continue;
      artifacts[target.prefix + name] = {
        contractName: name,
        sourceName: f,
        compiler: { version: solc.version(), settings: { evmVersion: settings.evmVersion, optimizer } },
        sourcesSha256,
        abi: c.abi,
        bytecode: "0x" + c.evm.bytecode.object,
        deployedBytecode: "0x" + c.evm.deployedBytecode.object,
      };
    }
  }
}
const names = Object.keys(artifacts).sort();
const text = (name) => JSON.stringify(artifacts[name], null, 2) + "\n";

const mode = process.argv[2];
if (mode === "--stdout") {
  const all = {};
  for (const n of names) all[n] = text(n);
  process.stdout.write(JSON.stringify(all));
} else if (mode === "--check") {
  let stale = false;
  for (const n of names) {
    let old = "";
    try {
      old = readFileSync(join(artifactsDir, n + ".json"), "utf8");
    } catch {}
    if (old !== text(n)) {
      process.stderr.write(`artifacts/${n}.json is stale: run node compile.mjs\n`);
      stale = true;
    }
  }
  process.exit(stale ? 1 : 0);
} else {
  for (const n of names) {
    mkdirSync(dirname(join(artifactsDir, n + ".json")), { recursive: true });
    writeFileSync(join(artifactsDir, n + ".json"), text(n));
  }
  process.stdout.write(`wrote ${names.length} artifacts (solc ${solc.version()}, sources ${sourcesSha256})\n`);
}
