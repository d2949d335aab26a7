//! The trustee's integration tests: the binary (`binary`), the distributed key
//! generation across processes (`dkg`), its chain view on the embedded EVM
//! (`evm_chain`), the opening gate (`gate`), a whole round over gRPC with a cheating
//! trustee (`grpc_round`) and the mutual-TLS transport (`transport`). One test binary:
//! each more costs a link and a compile of its own copies of the generic code.

mod binary;
mod dkg;
mod evm_chain;
mod gate;
mod grpc_round;
mod transport;
