//! The inner product of two one-byte vectors: the vector index's distance, computed here instead
//! of by usearch's C kernels.
//!
//! usearch takes its SIMD kernels from NumKong, whose build script compiles every kernel of
//! every element type for every x86 instruction set it knows, one C file after another: 113 s
//! of one core in a cold release build on this machine, the largest single step of it. The
//! index needs one kernel, `i8 · i8` (see [`super::vector`]), so usearch is built without
//! NumKong and [`install`] hands it this one (`usearch` without default features). Its distance is the one usearch's own kernels
//! give for `MetricKind::IP` over `i8` (`1 - a·b` in integer units), so the graph, the
//! distances and every ranking built on them are the same; only the speed could differ.
//!
//! Measured on this machine (AMD EPYC, AVX-512 with VNNI), 100,000 inserts of 256-dimensional
//! vectors and 5,000 searches of 100, three to five runs each: NumKong's Ice Lake kernel 6.5–7.7 s
//! and 1.4–1.8 s; [`dot_avx512`] 6.1–6.5 s and 1.3–1.5 s. NumKong's Haswell (AVX2) kernel 7.1–9.1 s
//! and 1.9–2.1 s; [`dot_avx2`] 7.4–8.4 s and 1.8–1.9 s. usearch's portable loop (what it runs
//! without NumKong and without this metric) 21.6–23.3 s.
//!
//! Invariant: every kernel returns the exact integer sum of products for any `i8` values
//! (`-128` included) and any length; [`select`] picks the fastest the CPU has at run time.

use usearch::Index;

/// A kernel: the exact inner product of two slices of equal length.
type Kernel = unsafe fn(&[i8], &[i8]) -> i32;

/// The portable kernel (the compiler vectorises it for the baseline instruction set).
fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// AVX-512 with VNNI: 32 products per step, sign-extended to 16 bits and summed in pairs into
/// 32-bit lanes (`vpdpwssd`), exact for every `i8` value.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VNNI; `a` and `b` must have the same length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_avx512(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: `i + 32 <= n` bytes are in both slices; unaligned loads.
        let (x, y) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i).cast()),
                _mm256_loadu_si256(b.as_ptr().add(i).cast()),
            )
        };
        acc = _mm512_dpwssd_epi32(acc, _mm512_cvtepi8_epi16(x), _mm512_cvtepi8_epi16(y));
        i += 32;
    }
    _mm512_reduce_add_epi32(acc) + dot_portable(&a[i..n], &b[i..n])
}

/// AVX2: 16 products per step, sign-extended to 16 bits and summed in pairs (`vpmaddwd`).
///
/// # Safety
/// The CPU must have AVX2; `a` and `b` must have the same length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 <= n` bytes are in both slices; unaligned loads.
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(i).cast()),
                _mm_loadu_si128(b.as_ptr().add(i).cast()),
            )
        };
        let p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
        acc = _mm256_add_epi32(acc, p);
        i += 16;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: 32 bytes written into an array of 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    lanes.iter().sum::<i32>() + dot_portable(&a[i..n], &b[i..n])
}

/// The fastest kernel this CPU runs.
fn select() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            return dot_avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return dot_avx2;
        }
    }
    dot_portable
}

/// Makes `index` (one-byte vectors of `dims` dimensions, inner-product metric) compute its
/// distances with the kernel [`select`] picks: `1 - a·b`, as usearch's own `i8` inner product does. usearch
/// forgets a custom metric when it loads or views a file, so this follows every `load` and `view`.
pub fn install(index: &mut Index, dims: usize) {
    let kernel = select();
    index.change_metric::<i8>(Box::new(move |a: *const i8, b: *const i8| {
        // SAFETY: usearch calls the metric with two vectors of the index's `dims` bytes each;
        // `select` returns only kernels the CPU supports.
        let ip = unsafe {
            kernel(
                std::slice::from_raw_parts(a, dims),
                std::slice::from_raw_parts(b, dims),
            )
        };
        #[cfg(test)]
        tests::CALLS.with(|c| c.set(c.get() + 1));
        1.0 - ip as f32
    }));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Distances this thread computed through [`install`]'s metric (usearch computes a
        /// search's distances on the caller's thread).
        pub(crate) static CALLS: Cell<u64> = const { Cell::new(0) };
    }

    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as i8
            })
            .collect()
    }

    fn exact(a: &[i8], b: &[i8]) -> i64 {
        a.iter().zip(b).map(|(&x, &y)| x as i64 * y as i64).sum()
    }

    #[test]
    fn every_kernel_is_exact_at_every_length_and_extreme() {
        let mut kernels: Vec<(&str, Kernel)> = vec![("portable", dot_portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(("avx2", dot_avx2));
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(("avx512", dot_avx512));
            }
        }
        for n in (0..100).chain([255, 256, 257, 384, 1024]) {
            let cases = [
                (bytes(n as u64, n), bytes(n as u64 + 7, n)),
                (vec![-128; n], vec![-128; n]),
                (vec![-128; n], vec![127; n]),
                (vec![127; n], vec![127; n]),
            ];
            for (a, b) in &cases {
                for (name, k) in &kernels {
                    // SAFETY: only kernels the CPU has are listed; equal lengths.
                    let got = unsafe { k(a, b) };
                    assert_eq!(got as i64, exact(a, b), "{name} at length {n}");
                }
                // SAFETY: `select` picks a kernel the CPU has; equal lengths.
                assert_eq!(unsafe { select()(a, b) } as i64, exact(a, b));
            }
        }
    }
}
