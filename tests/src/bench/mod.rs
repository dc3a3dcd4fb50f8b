//! The benchmark harness behind `cargo run --release -p hookline-tests --bin
//! bench`: a load generator, a sink app, the tunnel started in-process, and
//! one module per measured scenario. See BENCHMARKS.md for the latest figures.

pub mod child_tunnel;
pub mod loadgen;
pub mod payload;
pub mod report;
pub mod scenarios;
pub mod sink;
pub mod stats;
pub mod tunnel;
