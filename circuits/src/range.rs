//! Range checks, not written yet.
