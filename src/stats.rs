//! Cold-start and inference latency statistics.

use std::collections::VecDeque;

use serde::Serialize;

/// How many recent inferences the percentiles are computed over.
pub const WINDOW: usize = 1000;

/// Cold-start breakdown in milliseconds. Fetch and compile are filled in by the JS side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdStart {
    /// Downloading the model.
    pub fetch_ms: f64,
    /// Compiling and instantiating the wasm module.
    pub compile_ms: f64,
    /// Parsing the model file and building the network.
    pub build_ms: f64,
    /// The first classification.
    pub first_inference_ms: f64,
    /// Sum of the above.
    pub total_ms: f64,
}

/// Inference latency summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceStats {
    /// Inferences since load.
    pub count: u64,
    /// Mean over the window.
    pub mean_ms: f64,
    /// Median over the window.
    pub p50_ms: f64,
    /// 95th percentile over the window.
    pub p95_ms: f64,
    /// 99th percentile over the window.
    pub p99_ms: f64,
    /// The most recent inference.
    pub last_ms: f64,
}

/// Everything `stats()` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Cold start.
    pub cold_start: ColdStart,
    /// Inference latency.
    pub inference: InferenceStats,
}

/// Records latencies over a rolling window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    cold_start: ColdStart,
    count: u64,
    window: VecDeque<f64>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Recorder {
    /// Records the build time of the model.
    pub(crate) fn set_build(&mut self, ms: f64) {
        self.cold_start.build_ms = ms;
        self.update_total();
    }

    /// Records the time spent outside Rust (fetching the model, compiling the module).
    pub(crate) fn set_fetch_compile(&mut self, fetch_ms: f64, compile_ms: f64) {
        self.cold_start.fetch_ms = fetch_ms;
        self.cold_start.compile_ms = compile_ms;
        self.update_total();
    }

    fn update_total(&mut self) {
        let c = &mut self.cold_start;
        c.total_ms = c.fetch_ms + c.compile_ms + c.build_ms + c.first_inference_ms;
    }

    /// Records one inference.
    pub(crate) fn record(&mut self, ms: f64) {
        if self.count == 0 {
            self.cold_start.first_inference_ms = ms;
            self.update_total();
        }
        self.count += 1;
        if self.window.len() == WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(ms);
    }

    /// Current summary.
    pub(crate) fn stats(&self) -> Stats {
        let mut sorted: Vec<f64> = self.window.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let mean = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().sum::<f64>() / sorted.len() as f64
        };
        Stats {
            cold_start: self.cold_start,
            inference: InferenceStats {
                count: self.count,
                mean_ms: mean,
                p50_ms: percentile(&sorted, 50.0),
                p95_ms: percentile(&sorted, 95.0),
                p99_ms: percentile(&sorted, 99.0),
                last_ms: self.window.back().copied().unwrap_or(0.0),
            },
        }
    }
}
