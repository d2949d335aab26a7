//! BLAKE2b-512 (RFC 7693) with its state exported and imported in the layout of
//! noble-hashes, which snarkjs stores in a `.ptau` contribution as its 216-byte
//! "partial hash": the 128-byte block buffer, the eight state words as sixteen
//! little-endian 32-bit halves (low first), the number of bytes absorbed before the
//! buffer (`u32` low, `u32` high), the number of bytes in the buffer (`u32`, `u32`), and
//! eight bytes of padding. A `.ptau` contribution's response hash is the digest of that
//! state continued with the contributor's public key.
//!
//! Only this use needs it; every other BLAKE2b in the crate is RustCrypto's.

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// Size of an exported state.
pub const PARTIAL_LEN: usize = 216;

/// An incremental BLAKE2b-512.
#[derive(Clone, Debug)]
pub struct Blake2b {
    h: [u64; 8],
    buf: [u8; 128],
    pos: usize,
    length: u128,
}

impl Default for Blake2b {
    fn default() -> Self {
        let mut h = IV;
        h[0] ^= 0x0101_0040;
        Blake2b {
            h,
            buf: [0; 128],
            pos: 0,
            length: 0,
        }
    }
}

impl Blake2b {
    fn compress(&mut self, last: bool) {
        let mut m = [0u64; 16];
        for (i, w) in m.iter_mut().enumerate() {
            *w = u64::from_le_bytes(self.buf[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        }
        let mut v = [0u64; 16];
        v[..8].copy_from_slice(&self.h);
        v[8..].copy_from_slice(&IV);
        v[12] ^= self.length as u64;
        v[13] ^= (self.length >> 64) as u64;
        if last {
            v[14] = !v[14];
        }
        fn g(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
            v[d] = (v[d] ^ v[a]).rotate_right(32);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(24);
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
            v[d] = (v[d] ^ v[a]).rotate_right(16);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(63);
        }
        for s in SIGMA.iter() {
            g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
            g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
            g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
            g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
            g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
            g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
            g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
            g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for i in 0..8 {
            self.h[i] ^= v[i] ^ v[i + 8];
        }
    }

    /// Absorbs `data` (the last block is kept until more data or the digest).
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.pos == 128 {
                self.compress(false);
                self.pos = 0;
            }
            let take = (128 - self.pos).min(data.len());
            self.buf[self.pos..self.pos + take].copy_from_slice(&data[..take]);
            self.pos += take;
            self.length += take as u128;
            data = &data[take..];
        }
    }

    /// The 64-byte digest.
    pub fn finalize(mut self) -> [u8; 64] {
        self.buf[self.pos..].fill(0);
        self.compress(true);
        let mut out = [0u8; 64];
        for (i, w) in self.h.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The state in noble-hashes' layout.
    pub fn export(&self) -> [u8; PARTIAL_LEN] {
        let mut out = [0u8; PARTIAL_LEN];
        out[..128].copy_from_slice(&self.buf);
        for (i, w) in self.h.iter().enumerate() {
            out[128 + 8 * i..128 + 8 * i + 4].copy_from_slice(&(*w as u32).to_le_bytes());
            out[132 + 8 * i..132 + 8 * i + 4].copy_from_slice(&((*w >> 32) as u32).to_le_bytes());
        }
        let before = (self.length - self.pos as u128) as u64;
        out[192..200].copy_from_slice(&before.to_le_bytes());
        out[200..208].copy_from_slice(&(self.pos as u64).to_le_bytes());
        out
    }

    /// A state from noble-hashes' layout; `None` if the buffer position is out of range.
    pub fn import(bytes: &[u8; PARTIAL_LEN]) -> Option<Self> {
        let mut buf = [0u8; 128];
        buf.copy_from_slice(&bytes[..128]);
        let mut h = [0u64; 8];
        for (i, w) in h.iter_mut().enumerate() {
            let lo = u32::from_le_bytes(bytes[128 + 8 * i..132 + 8 * i].try_into().ok()?);
            let hi = u32::from_le_bytes(bytes[132 + 8 * i..136 + 8 * i].try_into().ok()?);
            *w = (lo as u64) | ((hi as u64) << 32);
        }
        let before = u64::from_le_bytes(bytes[192..200].try_into().ok()?);
        let pos = u64::from_le_bytes(bytes[200..208].try_into().ok()?);
        if pos > 128 {
            return None;
        }
        Some(Blake2b {
            h,
            buf,
            pos: pos as usize,
            length: before as u128 + pos as u128,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake2::Digest;

    #[test]
    fn matches_rustcrypto_across_export_and_import() {
        for len in [0usize, 1, 127, 128, 129, 256, 1000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut ours = Blake2b::default();
            let (a, b) = data.split_at(len / 3);
            ours.update(a);
            let ours = Blake2b::import(&ours.export()).unwrap();
            let mut ours = ours;
            ours.update(b);
            let theirs: [u8; 64] = blake2::Blake2b512::digest(&data).into();
            assert_eq!(ours.finalize(), theirs, "length {len}");
        }
    }
}
