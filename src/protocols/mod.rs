//! One adapter per tool: each parses its tool's request, asks the binding for
//! a profile and the token source for a token, and formats the reply. None of
//! them knows how tokens are made, and none imports the command line.

pub mod az;
pub mod docker;
pub mod git;
pub mod kubeconfig;
pub mod kubectl;
pub mod plain;
