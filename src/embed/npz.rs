//! Reader for NumPy `.npz` archives: a zip (stored or deflated) of `.npy`
//! files, one per array.
//!
//! Supported `.npy` content: format versions 1.0, 2.0 and 3.0, C order,
//! dtypes `<f4`, `<f8`, `|u1` and `|i1`. Every error names the archive and,
//! where there is one, the array.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// Errors while reading an `.npz` archive.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The archive cannot be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The zip container is broken.
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    /// The archive has no member `<array>.npy`.
    #[error("{path}: array `{array}` is missing")]
    MissingArray { path: PathBuf, array: String },
    /// The member cannot be decompressed or read.
    #[error("{path}: array `{array}`: {source}")]
    ReadArray {
        path: PathBuf,
        array: String,
        #[source]
        source: std::io::Error,
    },
    /// The `.npy` header is malformed or describes an unsupported layout.
    #[error("{path}: array `{array}`: bad .npy header: {reason}")]
    Header {
        path: PathBuf,
        array: String,
        reason: String,
    },
    /// The array has another dtype than the caller asked for.
    #[error("{path}: array `{array}`: dtype {found}, expected {expected}")]
    Dtype {
        path: PathBuf,
        array: String,
        found: &'static str,
        expected: &'static str,
    },
    /// The array has another shape than the caller asked for.
    #[error("{path}: array `{array}`: shape {found:?}, expected {expected:?}")]
    Shape {
        path: PathBuf,
        array: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    /// The data section is shorter or longer than the header's shape.
    #[error("{path}: array `{array}`: {found} data bytes, header implies {expected}")]
    DataLength {
        path: PathBuf,
        array: String,
        found: usize,
        expected: usize,
    },
}

/// Element type of an `.npy` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `|u1`
    U8,
    /// `|i1`
    I8,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        match descr {
            "<f4" => Some(Dtype::F32),
            "<f8" => Some(Dtype::F64),
            "|u1" | "<u1" | "u1" => Some(Dtype::U8),
            "|i1" | "<i1" | "i1" => Some(Dtype::I8),
            _ => None,
        }
    }

    /// The NumPy `descr` string.
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
            Dtype::U8 => "|u1",
            Dtype::I8 => "|i1",
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::U8 | Dtype::I8 => 1,
        }
    }
}

/// A raw array: dtype, shape and little-endian data bytes in C order.
#[derive(Debug, Clone)]
pub struct RawArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// An open `.npz` archive.
pub struct Npz<R: Read + Seek = BufReader<File>> {
    path: PathBuf,
    archive: zip::ZipArchive<R>,
}

impl Npz<BufReader<File>> {
    /// Opens the archive at `path`.
    pub fn open(path: &Path) -> Result<Self, NpzError> {
        let file = File::open(path).map_err(|source| NpzError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Npz::from_reader(path, BufReader::new(file))
    }
}

impl<R: Read + Seek> Npz<R> {
    /// Reads an archive from `reader`; `path` is only used in error messages.
    pub fn from_reader(path: &Path, reader: R) -> Result<Self, NpzError> {
        let archive = zip::ZipArchive::new(reader).map_err(|source| NpzError::Zip {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Npz {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// The archive's path as given to `open` / `from_reader`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Array names (member names without `.npy`).
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|n| n.ok()?.strip_suffix(".npy").map(str::to_owned))
            .collect()
    }

    /// Reads array `name` (member `name.npy`) with its header checked.
    pub fn read(&mut self, name: &str) -> Result<RawArray, NpzError> {
        let member = format!("{name}.npy");
        let mut bytes = Vec::new();
        {
            let mut file = match self.archive.by_name(&member) {
                Ok(f) => f,
                Err(zip::result::ZipError::FileNotFound) => {
                    return Err(NpzError::MissingArray {
                        path: self.path.clone(),
                        array: name.to_owned(),
                    })
                }
                Err(source) => {
                    return Err(NpzError::Zip {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            // the declared size is only a capacity hint, capped against bogus headers
            let hint = usize::try_from(file.size()).unwrap_or(0).min(1 << 28);
            bytes.reserve_exact(hint);
            file.read_to_end(&mut bytes).map_err(|source| NpzError::ReadArray {
                path: self.path.clone(),
                array: name.to_owned(),
                source,
            })?;
        }
        parse_npy(&bytes).map_err(|e| e.into_error(&self.path, name))
    }

    /// Reads a `<f4` array whose shape must equal `shape`.
    pub fn f32_array(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, NpzError> {
        let raw = self.checked(name, Dtype::F32, shape)?;
        Ok(raw
            .data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Reads a `|u1` array whose shape must equal `shape`.
    pub fn u8_array(&mut self, name: &str, shape: &[usize]) -> Result<Vec<u8>, NpzError> {
        Ok(self.checked(name, Dtype::U8, shape)?.data)
    }

    /// Reads a `<f8` scalar (shape `()` or `(1,)`).
    pub fn f64_scalar(&mut self, name: &str) -> Result<f64, NpzError> {
        let raw = self.read(name)?;
        self.expect_dtype(name, &raw, Dtype::F64)?;
        if raw.shape.iter().product::<usize>() != 1 {
            return Err(NpzError::Shape {
                path: self.path.clone(),
                array: name.to_owned(),
                found: raw.shape,
                expected: vec![],
            });
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw.data[..8]);
        Ok(f64::from_le_bytes(b))
    }

    fn expect_dtype(&self, name: &str, raw: &RawArray, dtype: Dtype) -> Result<(), NpzError> {
        if raw.dtype == dtype {
            Ok(())
        } else {
            Err(NpzError::Dtype {
                path: self.path.clone(),
                array: name.to_owned(),
                found: raw.dtype.descr(),
                expected: dtype.descr(),
            })
        }
    }

    fn checked(&mut self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<RawArray, NpzError> {
        let raw = self.read(name)?;
        self.expect_dtype(name, &raw, dtype)?;
        if raw.shape != shape {
            return Err(NpzError::Shape {
                path: self.path.clone(),
                array: name.to_owned(),
                found: raw.shape,
                expected: shape.to_vec(),
            });
        }
        Ok(raw)
    }
}

/// `.npy` parse failure before the archive and array names are attached.
enum NpyFault {
    Header(String),
    DataLength { found: usize, expected: usize },
}

impl NpyFault {
    fn into_error(self, path: &Path, array: &str) -> NpzError {
        match self {
            NpyFault::Header(reason) => NpzError::Header {
                path: path.to_path_buf(),
                array: array.to_owned(),
                reason,
            },
            NpyFault::DataLength { found, expected } => NpzError::DataLength {
                path: path.to_path_buf(),
                array: array.to_owned(),
                found,
                expected,
            },
        }
    }
}

fn header_err(reason: impl Into<String>) -> NpyFault {
    NpyFault::Header(reason.into())
}

/// Parses one `.npy` file: magic, version, header dict, data.
fn parse_npy(bytes: &[u8]) -> Result<RawArray, NpyFault> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(header_err("missing \\x93NUMPY magic"));
    }
    let major = bytes[6];
    let (header_len, header_start): (usize, usize) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| header_err("truncated header length"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(header_err(format!("unsupported format version {v}"))),
    };
    let header_end = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| header_err("header runs past the end of the file"))?;
    let header =
        std::str::from_utf8(&bytes[header_start..header_end]).map_err(|_| header_err("header is not UTF-8"))?;

    let descr = dict_value(header, "descr").ok_or_else(|| header_err("no 'descr'"))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let dtype = Dtype::parse(descr).ok_or_else(|| header_err(format!("unsupported dtype {descr:?}")))?;

    let fortran = dict_value(header, "fortran_order").ok_or_else(|| header_err("no 'fortran_order'"))?;
    match fortran.trim() {
        "False" => {}
        "True" => return Err(header_err("Fortran order is not supported")),
        other => return Err(header_err(format!("bad fortran_order {other:?}"))),
    }

    let shape_text = dict_value(header, "shape").ok_or_else(|| header_err("no 'shape'"))?;
    let shape_text = shape_text
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| header_err(format!("bad shape {shape_text:?}")))?;
    let mut shape = Vec::new();
    for dim in shape_text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let dim = dim
            .trim_end_matches('L')
            .parse::<usize>()
            .map_err(|_| header_err(format!("bad dimension {dim:?}")))?;
        shape.push(dim);
    }

    let expected = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| header_err("shape overflows"))?;
    let data = &bytes[header_end..];
    if data.len() != expected {
        return Err(NpyFault::DataLength {
            found: data.len(),
            expected,
        });
    }
    Ok(RawArray {
        dtype,
        shape,
        data: data.to_vec(),
    })
}

/// The raw text of `key`'s value in a NumPy header dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let at = quoted
        .iter()
        .find_map(|q| header.find(q.as_str()).map(|i| i + q.len()))?;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        rest[1..].find(q)? + 2
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        npy_order(descr, "False", shape, data)
    }

    fn npy_order(descr: &str, fortran: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn parses_headers() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let a = parse_npy(&npy("<f4", "(2, 3)", &data)).ok();
        assert!(a.as_ref().is_some_and(|a| a.shape == [2, 3] && a.dtype == Dtype::F32));
        let s = parse_npy(&npy("<f8", "()", &1e-6f64.to_le_bytes())).ok();
        assert!(s.is_some_and(|a| a.shape.is_empty()));
        let v = parse_npy(&npy("|u1", "(3,)", &[1, 2, 3])).ok();
        assert!(v.is_some_and(|a| a.shape == [3] && a.data == [1, 2, 3]));
    }

    #[test]
    fn rejects_bad_npy() {
        assert!(matches!(parse_npy(b"nope"), Err(NpyFault::Header(_))));
        assert!(matches!(
            parse_npy(&npy("<f4", "(2,)", &[0; 4])),
            Err(NpyFault::DataLength { found: 4, expected: 8 })
        ));
        assert!(matches!(
            parse_npy(&npy(">f4", "(1,)", &[0; 4])),
            Err(NpyFault::Header(_))
        ));
        let fortran = npy_order("<f4", "True", "(1,)", &[0; 4]);
        assert!(matches!(parse_npy(&fortran), Err(NpyFault::Header(r)) if r.contains("Fortran")));
    }
}
