//! What the mix did, per group: available, target and achieved counts and
//! shares. Serialized into the run report (`report.json` → `mix`).

use serde::{Deserialize, Serialize};

use super::config::Others;

/// One targeted group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixGroupReport {
    /// The group's name as written under `[targets]`.
    pub name: String,
    /// Records of the group given to the mix.
    pub available: u64,
    /// Its target share of the mix total.
    pub target_share: f64,
    /// Its target count: the share of the mix total, rounded so that the
    /// counts sum exactly.
    pub target_count: u64,
    /// Records kept: the target count, or every available record when there
    /// are fewer (only possible with a `total` set in the rules).
    pub achieved_count: u64,
    /// `achieved_count / total`.
    pub achieved_share: f64,
    /// `achieved_count` as a share of all records the mix kept (others included).
    pub output_share: f64,
}

/// The records whose group has no target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixOthersReport {
    /// `keep` or `drop`.
    pub policy: Others,
    /// Records given to the mix without a targeted group.
    pub available: u64,
    /// Of those, kept (all of them, or none).
    pub kept: u64,
    /// The share of the mix total no target claims (`1 - sum of shares`).
    pub share_left: f64,
}

/// The mix section of the run report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixReport {
    /// What the shares are over: `task`, `tag` or `source`.
    pub by: String,
    /// The tag prefix, with `by = "tag"`.
    pub prefix: Option<String>,
    /// The sampling seed.
    pub seed: u64,
    /// Records given to the mix.
    pub input: u64,
    /// The mix total the shares are of.
    pub total: u64,
    /// Whether the total was set in the rules (else it is the largest the
    /// available records can meet).
    pub total_from_rules: bool,
    /// The group whose availability bounds the total, when computed.
    pub limited_by: Option<String>,
    /// Targeted groups, in target order.
    pub groups: Vec<MixGroupReport>,
    /// Records without a targeted group.
    pub others: MixOthersReport,
    /// Records kept.
    pub kept: u64,
    /// Records dropped (rule `mix/ratio`).
    pub dropped: u64,
}

impl MixReport {
    /// A table of target against achieved shares, for the run summary.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "mix by {}{}: total {}{}, kept {}, dropped {}\n",
            self.by,
            self.prefix.as_deref().map(|p| format!(" ({p})")).unwrap_or_default(),
            self.total,
            if self.total_from_rules { " (set)" } else { "" },
            self.kept,
            self.dropped
        );
        let _ = writeln!(
            s,
            "  {:<24} {:>10} {:>8} {:>10} {:>10} {:>8}",
            "group", "available", "target", "count", "achieved", "share"
        );
        for g in &self.groups {
            let _ = writeln!(
                s,
                "  {:<24} {:>10} {:>7.2}% {:>10} {:>10} {:>7.2}%",
                g.name,
                g.available,
                g.target_share * 100.0,
                g.target_count,
                g.achieved_count,
                g.achieved_share * 100.0
            );
        }
        let _ = writeln!(
            s,
            "  {:<24} {:>10} {:>8} {:>10} {:>10}",
            format!(
                "(others: {})",
                if self.others.policy == Others::Keep {
                    "keep"
                } else {
                    "drop"
                }
            ),
            self.others.available,
            "",
            "",
            self.others.kept
        );
        s
    }
}
