//! Outputs: Parquet shards for kept, rejected and malformed records, and the
//! run reports.

pub mod charts;
pub mod diversity;
pub mod examples;
pub mod html;
pub mod metrics;
pub mod read_back;
pub mod rechunk;
pub mod report;
pub mod run_folder;
pub mod schema;
pub mod shard;
pub mod staging;
pub mod table;

pub use report::Report;
pub use schema::{MalformedRows, RecordRows, Rejection};
pub use shard::{BackgroundWriter, ShardWriter};
