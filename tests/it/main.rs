//! End-to-end tests: one binary, a temp-dir + command harness, real inputs
//! (fixtures cut from ../shared/corpora, and the corpora themselves when present).

mod audit;
mod boilerplate;
mod dedup;
mod distributed;
mod embed;
mod formats;
mod fuzz;
mod golden;
mod harness;
mod invariants;
mod judged;
mod judged_pairs;
mod layers;
mod llm;
mod llm_stub;
mod malformed;
mod mix;
mod quality;
mod resume;
mod rules;
mod run;
mod select;
mod semantic;
mod sensitive;
mod slurm;
mod tag;
