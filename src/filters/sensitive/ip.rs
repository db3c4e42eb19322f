//! `ip`: IPv4 and IPv6 addresses, public ones only by default.
//!
//! ## What it measures
//! Dotted quads with octets 0-255 written without leading zeros, and IPv6
//! addresses that the standard library parses (full, `::`-compressed, with an
//! embedded IPv4 tail). With `public_only` (the default), private, loopback,
//! link-local, shared, multicast, reserved and documentation ranges are left
//! alone: `192.168.1.1` in a router tutorial identifies no one.
//!
//! ## Why
//! A public address can locate a person or a machine. Instruction data is
//! full of dotted numbers that are not addresses: version strings
//! (`v1.2.3.4`, `version 10.0.19041.1`), section numbers and decimals, which
//! are skipped by their context.
//!
//! ## Example
//! `Our server is at 8.8.4.4 and 2606:4700:4700::1111.` finds both.
//! Not found: `192.168.0.1`, `10.0.0.8`, `version 4.2.1.0`, `v1.2.3.4`,
//! `2001:db8::1` (documentation), `12:30:45`, `std::vector`.
//!
//! ## Parameters
//! `public_only` (default `true`), and the common `action` and `placeholder`
//! (default: redact as `<IP>`).

use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;

use super::scan::{after, before, contains_any, Detector, Finding, PiiType};

/// Words before a dotted number that make it a version or a section number,
/// not an address.
const VERSION_WORDS: &[&str] = &[
    "version", "ver.", "release", "build", "firmware", "python", "node", "java", "chrome", "section", "chapter",
    "clause", "article", "step", "figure", "table", "§", "版本", "章节", "条",
];

/// Finds IP addresses.
pub struct Ip {
    v4: Regex,
    v6: Regex,
    public_only: bool,
}

impl Ip {
    /// The detector; `public_only` skips non-public ranges.
    pub fn new(public_only: bool) -> Result<Self, regex::Error> {
        Ok(Ip {
            v4: Regex::new(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")?,
            v6: Regex::new(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}")?,
            public_only,
        })
    }
}

/// Whether an IPv4 address is globally routable (what `Ipv4Addr::is_global`
/// will say once it is stable).
pub fn public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_unspecified()
        || a.is_multicast()
        || o0 == 0
        || o0 >= 240
        || (o0 == 100 && (64..128).contains(&o1))
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 198 && (o1 == 18 || o1 == 19)))
}

/// Whether an IPv6 address may reach a host on the internet: not the
/// unspecified or loopback address, not link-local (fe80::/10), unique
/// local (fc00::/7) or multicast (ff00::/8), not documentation
/// (2001:db8::/32); an IPv4-mapped one as its IPv4 address. Addresses
/// outside today's global unicast block (2000::/3) count: text that writes
/// one means an address.
pub fn public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    if let Some(v4) = a.to_ipv4_mapped() {
        return public_v4(v4);
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xff00) == 0xff00
        || (s[0] == 0x2001 && s[1] == 0x0db8))
}

fn versionish(text: &str, start: usize) -> bool {
    let prev = before(text, start, 24);
    prev.ends_with(['v', 'V']) || contains_any(prev, VERSION_WORDS)
}

impl Detector for Ip {
    fn ty(&self) -> PiiType {
        PiiType::Ip
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        if text.contains('.') {
            for m in self.v4.find_iter(text) {
                let s = m.as_str();
                let prev = before(text, m.start(), 1);
                let next = after(text, m.end(), 2);
                if prev.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                    || next.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    || (next.starts_with('.') && next[1..].starts_with(|c: char| c.is_ascii_digit()))
                    || s.split('.').any(|o| o.len() > 1 && o.starts_with('0'))
                    || versionish(text, m.start())
                {
                    continue;
                }
                let Ok(a) = s.parse::<Ipv4Addr>() else { continue };
                if !self.public_only || public_v4(a) {
                    out.push(Finding::new(m.start(), m.end(), PiiType::Ip));
                }
            }
        }
        if text.contains("::") || text.matches(':').count() >= 7 {
            for m in self.v6.find_iter(text) {
                let s = m.as_str();
                let prev = before(text, m.start(), 1);
                let next = after(text, m.end(), 1);
                let groups = s.split(':').filter(|g| !g.is_empty()).count();
                let hex = s.chars().filter(char::is_ascii_hexdigit).count();
                // `1:9:84:126:84:9:1` is a ratio: an address written out has
                // a hex letter or a `::`.
                let decimal = !s.contains("::") && !s.contains(|c: char| c.is_ascii_alphabetic());
                if prev.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    || next.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    || groups < 3
                    || hex < 6
                    || decimal
                {
                    continue;
                }
                let Ok(a) = s.parse::<Ipv6Addr>() else { continue };
                if !self.public_only || public_v6(a) {
                    out.push(Finding::new(m.start(), m.end(), PiiType::Ip));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str, public_only: bool) -> Vec<&str> {
        let mut out = Vec::new();
        Ip::new(public_only).expect("regex").find(t, &mut out);
        out.iter().map(|f| &t[f.start..f.end]).collect()
    }

    #[test]
    fn finds_public_v4_and_v6() {
        assert_eq!(
            find("Our server is at 8.8.4.4 and 2606:4700:4700::1111.", true),
            ["8.8.4.4", "2606:4700:4700::1111"]
        );
        assert_eq!(find("服务器地址是114.114.114.114。", true), ["114.114.114.114"]);
    }

    #[test]
    fn skips_private_ranges_versions_and_times() {
        assert!(find("router 192.168.0.1, host 10.0.0.8, lo 127.0.0.1", true).is_empty());
        assert_eq!(find("router 192.168.0.1", false), ["192.168.0.1"]);
        assert!(find("version 4.2.1.0 and v1.2.3.4 and 1.2.3.4.5", true).is_empty());
        assert!(find(
            "doc 2001:db8::1, at 12:30:45, std::vector, fe80::1ff:fe23:4567:890a",
            true
        )
        .is_empty());
        assert!(find("date 01.02.2023.10", true).is_empty());
        assert!(find("Section 2.3.4.5 explains it.", true).is_empty());
    }
}
