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

/// Calls `f` on consecutive ranges covering `0..len`, one per thread (four per thread of an
/// inference's team), each at least `min` long and starting at a multiple of `align`; on the
/// calling thread alone when one range would do.
pub(crate) fn strips(len: usize, min: usize, align: usize, f: impl Fn(Range<usize>) + Sync) {
    #[cfg(feature = "threads")]
    let team = session::current();
    // A team hands strips out as its threads free up: four per thread even out a thread that
    // starts late or is slowed (the calling thread waited on its partner for a sixth of its
    // time with one strip each).
    #[cfg(feature = "threads")]
    let per_thread = if team.is_some() { 4 } else { 1 };
    #[cfg(not(feature = "threads"))]
    let per_thread = 1;
    let parts = (threads() * per_thread).min(len / min.max(1)).max(1);
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
    #[cfg(feature = "threads")]
    if let Some(team) = team {
        if session::in_strip() {
            // A split inside a strip (none of the kernels does) runs where it is.
            f(0..len);
        } else {
            team.run(parts, &|i| f(bound(i)..bound(i + 1)));
        }
        return;
    }
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

/// Runs `body` (one inference) with the pool's threads kept spinning beside it, so that each
/// split convolution starts on every thread at once: waking a sleeping pool thread per
/// convolution cost about a tenth of the calling thread's time in a 2-thread MobileNetV2 and
/// left it waiting for the late strip another fifth (Chromium's profiler). Without the
/// `threads` feature, or with one thread, `body` alone. Native builds keep rayon's own
/// scheduling: there the pool is sized by the machine and shared (the tests run many at once),
/// and spinning threads would take cores from each other.
pub(crate) fn session<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "threads", target_arch = "wasm32"))]
    {
        session::with(threads(), body)
    }
    #[cfg(not(all(feature = "threads", target_arch = "wasm32")))]
    {
        body()
    }
}

#[cfg(feature = "threads")]
pub(crate) mod session {
    //! A team for one inference: the calling thread and `n − 1` pool threads spinning on a
    //! counter that hands out the strips of each convolution in turn (as XNNPACK's
    //! pthreadpool does). The counter packs the job's generation, its strip count and the next
    //! strip, so a thread only runs a strip it claimed of the job still published.

    use core::cell::Cell;
    use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

    /// One split convolution: its strips by index.
    type Job<'a> = &'a (dyn Fn(usize) + Sync);

    pub(super) struct Team {
        /// `generation << 40 | parts << 20 | next`.
        claim: AtomicU64,
        /// The published job (a pointer to the caller's `Job`, alive until `done == parts`).
        job: AtomicPtr<Job<'static>>,
        done: AtomicUsize,
        stop: AtomicBool,
    }

    const FIELD: u64 = (1 << 20) - 1;

    thread_local! {
        static CURRENT: Cell<*const Team> = const { Cell::new(core::ptr::null()) };
        static IN_STRIP: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether this thread is running a strip.
    pub(super) fn in_strip() -> bool {
        IN_STRIP.with(Cell::get)
    }

    /// The team of the inference running on this thread.
    pub(super) fn current() -> Option<&'static Team> {
        // SAFETY: set only while `with` holds the team on this thread's stack.
        CURRENT.with(|c| unsafe { c.get().as_ref() })
    }

    /// Runs `body` with a team of `threads` (this thread and `threads − 1` of the pool).
    pub(crate) fn with<R>(threads: usize, body: impl FnOnce() -> R) -> R {
        if threads <= 1 || current().is_some() {
            return body();
        }
        let team = Team {
            claim: AtomicU64::new(0),
            job: AtomicPtr::new(core::ptr::null_mut()),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        };
        rayon::in_place_scope(|scope| {
            let team = &team;
            for _ in 1..threads {
                scope.spawn(move |_| team.help());
            }
            CURRENT.with(|c| c.set(team));
            // Cleared and the helpers released however `body` ends.
            struct Leave<'a>(&'a Team);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    CURRENT.with(|c| c.set(core::ptr::null()));
                    self.0.stop.store(true, Ordering::Release);
                }
            }
            let _leave = Leave(team);
            body()
        })
    }

    impl Team {
        /// Runs strips `0..parts` of `f` on the team; returns when all are done.
        pub(super) fn run(&self, parts: usize, f: Job<'_>) {
            debug_assert!(parts as u64 <= FIELD);
            let generation = (self.claim.load(Ordering::Relaxed) >> 40) + 1;
            self.done.store(0, Ordering::Relaxed);
            let job: Job<'_> = f;
            // SAFETY (lifetime): the job is only called by claimers of this generation, and this
            // call returns only once every strip of it is done.
            let job: Job<'static> = unsafe { core::mem::transmute::<Job<'_>, Job<'static>>(job) };
            self.job
                .store(&job as *const Job<'static> as *mut _, Ordering::Relaxed);
            self.claim
                .store(generation << 40 | (parts as u64) << 20, Ordering::Release);
            self.work();
            while self.done.load(Ordering::Acquire) < parts {
                core::hint::spin_loop();
            }
        }

        /// Claims and runs strips of the published job until none is left.
        fn work(&self) {
            let mut seen = self.claim.load(Ordering::Acquire);
            loop {
                let (parts, next) = ((seen >> 20) & FIELD, seen & FIELD);
                if next >= parts {
                    return;
                }
                let job = self.job.load(Ordering::Relaxed);
                match self.claim.compare_exchange_weak(
                    seen,
                    seen + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        IN_STRIP.with(|s| s.set(true));
                        // SAFETY: the claim succeeded on this generation, so its job is the
                        // one published before it and stays alive until this strip is done.
                        unsafe { (*job)(next as usize) };
                        IN_STRIP.with(|s| s.set(false));
                        self.done.fetch_add(1, Ordering::Release);
                        seen += 1;
                    }
                    Err(now) => seen = now,
                }
            }
        }

        /// A pool thread's part: spin, running strips as jobs appear, until the inference ends.
        fn help(&self) {
            let mut last = 0;
            while !self.stop.load(Ordering::Acquire) {
                let now = self.claim.load(Ordering::Acquire);
                if now >> 40 != last && (now & FIELD) < ((now >> 20) & FIELD) {
                    last = now >> 40;
                    self.work();
                } else {
                    core::hint::spin_loop();
                }
            }
        }
    }
}
