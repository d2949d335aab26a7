//! Resident memory of this process, from `/proc/self/status` (Linux).
//!
//! The peak (`VmHWM`) can be reset by writing `5` to `/proc/self/clear_refs` (Linux 4.0+),
//! so that a measurement covers one phase of a process and not its setup.

/// A `/proc/self/status` field in bytes (`VmRSS`, `VmHWM`, …), if readable.
pub fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The current resident set size.
pub fn current() -> Option<u64> {
    status_bytes("VmRSS")
}

/// The peak resident set size since the start or the last [`reset_peak`].
pub fn peak() -> Option<u64> {
    status_bytes("VmHWM")
}

/// Resets the peak to the current resident set size; false where the kernel refuses.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `n` bytes as MiB or KiB.
pub fn fmt_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}
