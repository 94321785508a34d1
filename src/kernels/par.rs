//! Work split across the thread pool: the `threads` feature's rayon pool (on wasm32, Web
//! Workers over shared memory through wasm-bindgen-rayon), or the calling thread alone. The
//! kernels split their outputs into strips of rows (pixels of a product, output rows of a
//! depthwise window), each strip computed with exactly the arithmetic of one thread, so the
//! results are bit-identical whatever the thread count.

use core::ops::Range;

/// A pointer into an output whose strips the threads write disjointly.
pub(crate) struct SyncPtr<T>(*mut T);

impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SyncPtr<T> {}

// SAFETY: the kernels hand each strip's thread only the rows of that strip; inputs read through
// it are not written during the call.
unsafe impl<T> Send for SyncPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    pub(crate) fn new(p: *mut T) -> Self {
        Self(p)
    }
    /// Read-only data (a residual, an input) shared the same way.
    pub(crate) fn new_const(p: *const T) -> Self {
        Self(p as *mut T)
    }
    /// The pointer (a method, so that closures capture the wrapper and not the raw field).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Threads the kernels may use: with the `threads` feature the calling thread and, called from
/// outside the pool, the pool's threads beside it; else 1.
pub(crate) fn threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads() + usize::from(rayon::current_thread_index().is_none())
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

/// Calls `f` on consecutive ranges covering `0..len`, one per thread, each at least `min` long
/// and starting at a multiple of `align`; on the calling thread alone when one range would do.
pub(crate) fn strips(len: usize, min: usize, align: usize, f: impl Fn(Range<usize>) + Sync) {
    let parts = threads().min(len / min.max(1)).max(1);
    if parts == 1 {
        f(0..len);
        return;
    }
    let align = align.max(1);
    let bound = |i: usize| {
        if i == parts {
            len
        } else {
            (len * i / parts) / align * align
        }
    };
    // The calling thread computes the first strip itself: waiting for the pool instead would
    // keep a core busy doing nothing (a page's main thread spins), so a pool of n − 1 workers
    // and the caller make n threads.
    #[cfg(feature = "threads")]
    rayon::in_place_scope(|scope| {
        let (f, bound) = (&f, &bound);
        for i in 1..parts {
            scope.spawn(move |_| f(bound(i)..bound(i + 1)));
        }
        f(bound(0)..bound(1));
    });
    #[cfg(not(feature = "threads"))]
    for i in 0..parts {
        f(bound(i)..bound(i + 1));
    }
}
