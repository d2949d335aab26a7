// hardhat's node as sealgrid_verifier_contract::devnode starts it (`hardhat node` here):
// a block every SEALGRID_BLOCK_TIME_MS milliseconds of at most SEALGRID_BLOCK_GAS gas, as
// a real chain mines (0: each transaction at once); Shanghai rules like the committed artifacts
// (SEALGRID_HARDFORK=london for the London ones); the deterministic account ganache's
// --wallet.deterministic funds first (GANACHE_DEV_KEY in verifier-contract/src/rpc.rs),
// so the project's code funds itself the same way on both nodes. A well-known test key:
// this node is for loopback benchmarks only.
const env = (name, fallback) => process.env[name] || fallback;
const blockTime = Number(env("SEALGRID_BLOCK_TIME_MS", "0"));
module.exports = {
  networks: {
    hardhat: {
      hardfork: env("SEALGRID_HARDFORK", "shanghai"),
      chainId: 1337,
      blockGasLimit: Number(env("SEALGRID_BLOCK_GAS", "30000000")),
      mining: {
        auto: blockTime === 0,
        interval: blockTime === 0 ? 0 : blockTime,
        mempool: { order: "fifo" },
      },
      accounts: [
        {
          privateKey: "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
          balance: "1000000000000000000000000",
        },
      ],
    },
  },
};
