//! Export formats that reproduce stored deliveries elsewhere: a HAR 1.2 file
//! and a curl script. Below both the command line (`hookline export`) and the
//! TUI (copy as curl).

pub mod curl;
pub mod har;
