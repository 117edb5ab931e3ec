//! The kubectl harness from the crate's `test-util` feature, under the name the tests use.

#![allow(unreachable_pub, unused_imports)]

pub use kopilot_fake::kubectl::{Harness, cols, line_with, require_kubectl};
