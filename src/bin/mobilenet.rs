//! `mobilenet`: classify images, evaluate accuracy and measure latency from the command line.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use clap::{Parser, Subcommand, ValueEnum};
    use mobilenet_wasm::catalog::{self, imagenet_labels, imagenet_wnids, models_dir};
    use mobilenet_wasm::stats::percentile;
    use mobilenet_wasm::{Classifier, Device, Error, LoadOptions, Ops, Precision, Result};
    use serde::Serialize;

    #[derive(Parser)]
    #[command(
        name = "mobilenet",
        version,
        about = "MobileNet classification from published TFLite files"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum Backend {
        Flex,
        #[cfg(feature = "ndarray")]
        Ndarray,
    }

    impl Backend {
        fn device(self) -> Device {
            match self {
                Backend::Flex => Device::flex(),
                #[cfg(feature = "ndarray")]
                Backend::Ndarray => Device::ndarray(),
            }
        }
    }

    #[derive(clap::Args)]
    struct ModelArgs {
        /// Model file; give it twice for a model published as backbone + head.
        #[arg(long = "model", required = true)]
        model: Vec<PathBuf>,
        /// Label file (one per line); default: the model's own, else the models directory's.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Compute backend.
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Arithmetic: int8 or float32 (default: int8 where the file is a quantized V1 / V2).
        #[arg(long, value_parser = parse_precision)]
        precision: Option<Precision>,
    }

    fn parse_precision(s: &str) -> std::result::Result<Precision, String> {
        s.parse().map_err(|e: Error| e.to_string())
    }

    #[derive(Subcommand)]
    enum Command {
        /// Classify images.
        Classify {
            #[command(flatten)]
            model: ModelArgs,
            /// How many classes to print per image.
            #[arg(long, default_value_t = 5)]
            top: usize,
            /// Print JSON.
            #[arg(long)]
            json: bool,
            /// JPEG or PNG files.
            #[arg(required = true)]
            images: Vec<PathBuf>,
        },
        /// Top-1 / top-5 accuracy over a folder of `<wnid>_<label>.JPEG` files.
        Eval {
            #[command(flatten)]
            model: ModelArgs,
            /// Folder of images.
            dir: PathBuf,
            /// Evaluate only the first N images (sorted by name).
            #[arg(long)]
            limit: Option<usize>,
            /// Worker threads (each runs its own single-threaded model).
            #[arg(long)]
            threads: Option<usize>,
            /// Print JSON.
            #[arg(long)]
            json: bool,
        },
        /// Describe model file(s).
        Info {
            /// Model file(s), backbone before head.
            #[arg(required = true)]
            files: Vec<PathBuf>,
        },
        /// Native latency: median and p95 of single-image inferences, one thread.
        Bench {
            /// Model file(s); default: every model in the models directory.
            #[arg(long = "model")]
            model: Vec<PathBuf>,
            /// Timed runs per model.
            #[arg(long, default_value_t = 50)]
            runs: usize,
            /// Untimed warm-up runs.
            #[arg(long, default_value_t = 5)]
            warmup: usize,
            /// Compute backend.
            #[arg(long, value_enum, default_value = "flex")]
            backend: Backend,
            /// The plain-burn path instead of the hand-written kernels (for before/after).
            #[arg(long)]
            no_kernels: bool,
            /// Arithmetic: int8 or float32 (default: int8 where the file allows it).
            #[arg(long, value_parser = parse_precision)]
            precision: Option<Precision>,
            /// Print JSON.
            #[arg(long)]
            json: bool,
        },
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    }

    /// The models directory: `MOBILENET_MODELS_DIR`, else the one beside this crate's source
    /// (whatever the working directory).
    fn models() -> Result<PathBuf> {
        models_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    /// ImageNet's class names from the models directory, for files without labels of their own.
    fn imagenet() -> Option<Vec<String>> {
        models().ok().and_then(|d| imagenet_labels(&d).ok())
    }

    fn load(args: &ModelArgs) -> Result<Classifier> {
        let files: Vec<Vec<u8>> = args.model.iter().map(|p| read(p)).collect::<Result<_>>()?;
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let labels = match &args.labels {
            Some(p) => Some(
                String::from_utf8_lossy(&read(p)?)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            None => None,
        };
        // Labels: given, else packed in the file, else ImageNet's names for 1000 / 1001 outputs.
        let options = LoadOptions {
            labels,
            imagenet_labels: imagenet(),
            precision: args.precision,
            ..LoadOptions::default()
        };
        Classifier::from_tflite_with(&refs, options, &args.backend.device())
    }

    #[derive(Serialize)]
    struct EvalReport {
        model: Vec<String>,
        images: usize,
        top1: f64,
        top5: f64,
        mean_ms: f64,
    }

    fn eval(
        args: &ModelArgs,
        dir: &Path,
        limit: Option<usize>,
        threads: Option<usize>,
    ) -> Result<EvalReport> {
        let wnids = imagenet_wnids(&models()?)?;
        let mut images: Vec<(PathBuf, usize)> = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let Some(wnid) = name.split('_').next() else {
                continue;
            };
            if let Some(class) = wnids.iter().position(|w| w == wnid) {
                images.push((path, class));
            }
        }
        images.truncate(limit.unwrap_or(usize::MAX));
        if images.is_empty() {
            return Err(Error::Io(format!(
                "no <wnid>_<label> images in {}",
                dir.display()
            )));
        }
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, images.len());
        let chunks: Vec<Vec<(PathBuf, usize)>> = (0..threads)
            .map(|t| images.iter().skip(t).step_by(threads).cloned().collect())
            .collect();
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    s.spawn(move || -> Result<(usize, usize, f64)> {
                        let mut clf = load(args)?;
                        let (mut top1, mut top5) = (0, 0);
                        for (path, class) in chunk {
                            let top = clf.classify_encoded(&read(path)?, 5)?;
                            top1 += usize::from(top[0].index == *class);
                            top5 += usize::from(top.iter().any(|p| p.index == *class));
                        }
                        Ok((
                            top1,
                            top5,
                            clf.stats().inference.mean_ms * chunk.len() as f64,
                        ))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("eval worker panicked"))
                .collect::<Vec<_>>()
        });
        let (mut top1, mut top5, mut total_ms) = (0, 0, 0.0);
        for r in results {
            let (a, b, ms) = r?;
            top1 += a;
            top5 += b;
            total_ms += ms;
        }
        let n = images.len();
        Ok(EvalReport {
            model: args.model.iter().map(|p| p.display().to_string()).collect(),
            images: n,
            top1: 100.0 * top1 as f64 / n as f64,
            top5: 100.0 * top5 as f64 / n as f64,
            mean_ms: total_ms / n as f64,
        })
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct BenchRow {
        name: String,
        precision: &'static str,
        runs: usize,
        p50_ms: f64,
        p95_ms: f64,
        build_ms: f64,
    }

    fn bench_one(
        name: String,
        files: &[Vec<u8>],
        runs: usize,
        warmup: usize,
        precision: Option<Precision>,
        ops: Ops,
        device: &Device,
    ) -> Result<BenchRow> {
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let options = LoadOptions {
            precision,
            ops,
            ..LoadOptions::default()
        };
        let mut clf = Classifier::from_tflite_with(&refs, options, device)?;
        let s = clf.config().resolution;
        let crop: Vec<u8> = (0..s * s * 3).map(|i| (i * 31 % 251) as u8).collect();
        for _ in 0..warmup {
            clf.run_crop(&crop)?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = std::time::Instant::now();
            clf.run_crop(&crop)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        Ok(BenchRow {
            name,
            precision: clf.precision().name(),
            runs,
            p50_ms: percentile(&times, 50.0),
            p95_ms: percentile(&times, 95.0),
            build_ms: clf.stats().cold_start.build_ms,
        })
    }

    fn run(cli: Cli) -> Result<()> {
        match cli.command {
            Command::Classify {
                model,
                top,
                json,
                images,
            } => {
                let mut clf = load(&model)?;
                let mut all = Vec::new();
                for path in &images {
                    let predictions = clf.classify_encoded(&read(path)?, top)?;
                    if json {
                        all.push(serde_json::json!({ "image": path.display().to_string(), "predictions": predictions }));
                    } else {
                        println!("{}", path.display());
                        for p in predictions {
                            println!(
                                "  {:>4}  {:6.2}%  {}",
                                p.index,
                                p.probability * 100.0,
                                p.label
                            );
                        }
                    }
                }
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&all).expect("serialisable")
                    );
                }
            }
            Command::Eval {
                model,
                dir,
                limit,
                threads,
                json,
            } => {
                let report = eval(&model, &dir, limit, threads)?;
                if json {
                    println!("{}", serde_json::to_string(&report).expect("serialisable"));
                } else {
                    println!(
                        "{}: top-1 {:.1} %  top-5 {:.1} %  over {} images ({:.1} ms mean inference)",
                        report.model.join(" + "),
                        report.top1,
                        report.top5,
                        report.images,
                        report.mean_ms
                    );
                }
            }
            Command::Info { files } => {
                let bytes: Vec<Vec<u8>> = files.iter().map(|p| read(p)).collect::<Result<_>>()?;
                let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
                let options = LoadOptions {
                    imagenet_labels: imagenet(),
                    ..LoadOptions::default()
                };
                let clf = Classifier::from_tflite_with(&refs, options, &Device::flex())?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&clf.info()).expect("serialisable")
                );
            }
            Command::Bench {
                model,
                runs,
                warmup,
                backend,
                no_kernels,
                precision,
                json,
            } => {
                let ops = if no_kernels { Ops::Burn } else { Ops::Kernels };
                let device = backend.device();
                let mut rows = Vec::new();
                if model.is_empty() {
                    for entry in catalog::discover(&models()?)? {
                        if entry.reference_accuracy.is_none() {
                            continue;
                        }
                        rows.push(bench_one(
                            entry.name.clone(),
                            &entry.read()?,
                            runs,
                            warmup,
                            precision,
                            ops,
                            &device,
                        )?);
                    }
                } else {
                    let files: Vec<Vec<u8>> =
                        model.iter().map(|p| read(p)).collect::<Result<_>>()?;
                    let name = model
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" + ");
                    rows.push(bench_one(
                        name, &files, runs, warmup, precision, ops, &device,
                    )?);
                }
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&rows).expect("serialisable")
                    );
                } else {
                    println!(
                        "| model | precision | runs | p50 ms | p95 ms | build ms |\n|---|---|---|---|---|---|"
                    );
                    for r in rows {
                        println!(
                            "| {} | {} | {} | {:.2} | {:.2} | {:.1} |",
                            r.name, r.precision, r.runs, r.p50_ms, r.p95_ms, r.build_ms
                        );
                    }
                }
            }
        }
        Ok(())
    }

    pub fn main() -> ExitCode {
        match run(Cli::parse()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error[{}]: {e}", e.code());
                ExitCode::FAILURE
            }
        }
    }
}
