//! Gadget twin, not written yet.
