//! sealgrid's cryptographic core.
