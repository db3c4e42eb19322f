//! End-to-end tests: one binary, a temp-dir + command harness, real inputs
//! (fixtures cut from ../shared/corpora, and the corpora themselves when present).

mod dedup;
mod harness;
mod run;
