//! `wasi:random`: a CSPRNG seeded by the OS for `random`, and a fast
//! non-cryptographic generator for `insecure`.

use rand::{Rng, RngCore};

use ringwasm_jit::component::__internal::Trap;

use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::random::{insecure, insecure_seed, random};

/// The most bytes one call may ask for before the host refuses (a guest
/// asking for gigabytes would otherwise exhaust host memory).
const MAX_RANDOM_BYTES: u64 = 1 << 26;

fn check_len(len: u64) -> Result<usize, Trap> {
    if len > MAX_RANDOM_BYTES {
        return Err(Trap::host(format!(
            "random bytes: {len} requested, at most {MAX_RANDOM_BYTES} per call"
        )));
    }
    Ok(len as usize)
}

impl random::Host for WasiCtx {
    fn get_random_bytes(&mut self, len: u64) -> Result<Vec<u8>, Trap> {
        let mut v = vec![0u8; check_len(len)?];
        rand::rng().fill_bytes(&mut v);
        Ok(v)
    }

    fn get_random_u64(&mut self) -> Result<u64, Trap> {
        Ok(rand::rng().next_u64())
    }
}

impl insecure::Host for WasiCtx {
    fn get_insecure_random_bytes(&mut self, len: u64) -> Result<Vec<u8>, Trap> {
        let mut v = vec![0u8; check_len(len)?];
        rand::rng().fill_bytes(&mut v);
        Ok(v)
    }

    fn get_insecure_random_u64(&mut self) -> Result<u64, Trap> {
        Ok(rand::rng().random())
    }
}

impl insecure_seed::Host for WasiCtx {
    /// One seed per context, the same on every call, as the WIT describes
    /// it ("the same value each time") and wasmtime returns.
    fn insecure_seed(&mut self) -> Result<(u64, u64), Trap> {
        Ok(*self.p2.insecure_seed.get_or_insert_with(|| {
            let mut r = rand::rng();
            (r.random(), r.random())
        }))
    }
}
