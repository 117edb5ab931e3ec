//! The names of the tools the Kopilot runtime gives a sub-agent: the protocol's
//! [`kopilot_protocol::names::tools`], where each name is spelled once.

pub use kopilot_protocol::names::tools::*;
