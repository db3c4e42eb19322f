//! Base64 (RFC 4648, standard alphabet) for the weights of model files:
//! the shipped models' 2.8 MB of it are decoded when every run starts.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in base64, padded with `=`.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The bytes of base64 text (`=` skipped wherever it stands); `None` when
/// it holds a character outside the alphabet.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    // Each byte's 6-bit value; 64: `=` (skipped), 255: not base64. A table
    // instead of a match per byte: the shipped models' 2.8 MB of base64 are
    // decoded when every run starts.
    const TABLE: [u8; 256] = {
        let mut t = [255u8; 256];
        let mut i = 0;
        while i < 26 {
            t[b'A' as usize + i] = i as u8;
            t[b'a' as usize + i] = 26 + i as u8;
            i += 1;
        }
        let mut d = 0;
        while d < 10 {
            t[b'0' as usize + d] = 52 + d as u8;
            d += 1;
        }
        t[b'+' as usize] = 62;
        t[b'/' as usize] = 63;
        t[b'=' as usize] = 64;
        t
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let bytes = s.as_bytes();
    let mut buf = 0u32;
    let mut bits = 0;
    let mut i = 0;
    // Four characters at a time while none is `=` or invalid.
    while i + 4 <= bytes.len() && bits == 0 {
        let v = [
            TABLE[bytes[i] as usize],
            TABLE[bytes[i + 1] as usize],
            TABLE[bytes[i + 2] as usize],
            TABLE[bytes[i + 3] as usize],
        ];
        if v.iter().any(|&x| x >= 64) {
            break;
        }
        let n = (u32::from(v[0]) << 18) | (u32::from(v[1]) << 12) | (u32::from(v[2]) << 6) | u32::from(v[3]);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        i += 4;
    }
    for &c in &bytes[i..] {
        let v = match TABLE[c as usize] {
            64 => continue,
            255 => return None,
            v => v,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for n in 0..40 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 + 5) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&v)).as_deref(), Some(&v[..]));
        }
        // `=` is skipped wherever it stands; anything else outside the alphabet fails.
        assert_eq!(base64_decode("TWFuTWFu").as_deref(), Some(&b"ManMan"[..]));
        assert_eq!(base64_decode("TW=FuTWFu").as_deref(), Some(&b"ManMan"[..]));
        assert_eq!(base64_decode("TWFuTW Fu"), None);
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
    }
}
