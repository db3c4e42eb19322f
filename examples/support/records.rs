//! Reading a corpus into records for the accuracy and comparison tools:
//! every file, folder or glob of `args`, mapped as `curate run` maps them;
//! items that do not parse or map are skipped (these tools measure dedup, not
//! the reader).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use curate::read::{expand_inputs, read_file, ReadOptions};
use curate::record::{map_record, Origin, Record};
use curate::ruleset::Rules;

/// The records of `args`, in input order.
pub fn read_records(args: &[String], rules: &Rules) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let mut recs = Vec::new();
    for (fi, f) in expand_inputs(args)?.iter().enumerate() {
        read_file(f, ReadOptions::default(), Arc::new(AtomicU64::new(0)), &mut |item| {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&item.bytes) {
                let o = Origin {
                    file: fi as u32,
                    line: item.line,
                };
                if let Ok(r) = map_record(&rules.adapters, &v, o, &f.label) {
                    recs.push(r);
                }
            }
            true
        });
    }
    Ok(recs)
}
