//! The svcgen core natively, timed like tests/bench/engines/worker.js times the WASM build:
//!
//!   svcgen-bench-native warm   SET_DIR VALUES.json   compile once, then time full renders
//!   svcgen-bench-native cold   SET_DIR VALUES.json   load + compile + first render (fresh process)
//!   svcgen-bench-native phases SET_DIR VALUES.json   validate / plan / render / load, each timed
//!   svcgen-bench-native load   SET_DIR VALUES.json   the process's first load of the set, and a second
//!   svcgen-bench-native update JOB.json              an update job of tests/bench/lib/update.js: both
//!                                                    sets loaded, then the first svcgen::update and warm ones
//!
//! Files are read from disk before any timing starts. Prints one JSON line (times in ms).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use svcgen::{Layer, RepoFile, SourceFile, TemplateSet};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opts: Value = std::env::var("SVCGEN_BENCH_WARM")
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(json!({}));
    let opt = |k: &str, d: f64| opts.get(k).and_then(Value::as_f64).unwrap_or(d);
    let warm = Warm {
        warmup: Duration::from_secs_f64(opt("warmupMs", 1000.0) / 1e3),
        min_runs: opt("minRuns", 30.0) as usize,
        min_time: Duration::from_secs_f64(opt("minMs", 4000.0) / 1e3),
        max_runs: opt("maxRuns", 2000.0) as usize,
    };
    if args[1] == "update" {
        return update(Path::new(&args[2]), &warm);
    }
    let (mode, dir, values_file) = (&args[1], Path::new(&args[2]), &args[3]);
    let values: Value = serde_json::from_str(&fs::read_to_string(values_file).expect("values")).expect("JSON");
    let files = read_set(dir);

    match mode.as_str() {
        "cold" => {
            let t0 = Instant::now();
            let set = load(files).expect("load");
            let t1 = Instant::now();
            let out = set.render(&values).expect("render");
            let t2 = Instant::now();
            println!(
                "{}",
                json!({"engine": "native", "mode": "cold", "ms": ms(t2 - t0), "prepareMs": ms(t1 - t0),
                       "firstRenderMs": ms(t2 - t1), "bytes": out.data.len()})
            );
        }
        "warm" => {
            let t0 = Instant::now();
            let set = load(files).expect("load");
            let prepare = ms(t0.elapsed());
            let out = set.render(&values).expect("render");
            let times = warm.run(|| {
                std::hint::black_box(set.render(&values).expect("render"));
            });
            println!(
                "{}",
                json!({"engine": "native", "mode": "warm", "prepareMs": prepare, "files": out.files.len(),
                       "bytes": out.data.len(), "hash": fnv(&out.data), "summary": summarize(&times), "times": times})
            );
        }
        "load" => {
            let t0 = Instant::now();
            drop(load(files.clone()).expect("load"));
            let first = ms(t0.elapsed());
            let t1 = Instant::now();
            drop(load(files).expect("load"));
            println!(
                "{}",
                json!({"engine": "native", "mode": "load", "firstLoadMs": first, "secondLoadMs": ms(t1.elapsed())})
            );
        }
        "phases" => {
            let set = load(files.clone()).expect("load");
            let quick = Warm { warmup: Duration::from_millis(300), min_runs: 30, min_time: Duration::from_secs(2), max_runs: 2000 };
            let validate = quick.run(|| {
                std::hint::black_box(set.validate(&values).expect("validate"));
            });
            let plan = quick.run(|| {
                std::hint::black_box(set.plan(&values).expect("plan"));
            });
            let render = quick.run(|| {
                std::hint::black_box(set.render(&values).expect("render"));
            });
            let load = quick.run(|| {
                std::hint::black_box(load(files.clone()).expect("load"));
            });
            println!(
                "{}",
                json!({"engine": "native", "mode": "phases", "validate": summarize(&validate), "plan": summarize(&plan),
                       "render": summarize(&render), "load": summarize(&load)})
            );
        }
        other => panic!("unknown mode {other}"),
    }
}

/// The `update` mode: the job's repository updated from its old set and values to its new ones, as
/// the WASM worker does it (each set loaded as one layer recorded under the job's `source`).
fn update(job_file: &Path, warm: &Warm) {
    let job: Value = serde_json::from_str(&fs::read_to_string(job_file).expect("job")).expect("JSON");
    let text = |v: &Value| v.as_str().expect("a string in the job").to_string();
    let source = text(&job["source"]);
    let same = job["same"].as_bool().unwrap_or(false);
    let old_files = read_set(Path::new(&text(&job["old"]["dir"])));
    let new_files = (!same).then(|| read_set(Path::new(&text(&job["new"]["dir"]))));
    let repo: Vec<RepoFile> = read_set(Path::new(&text(&job["repoDir"])))
        .into_iter()
        .map(|f| RepoFile {
            path: f.path,
            contents: f.contents,
            executable: f.executable,
        })
        .collect();
    let load = |files: Vec<SourceFile>| {
        TemplateSet::load_layers(vec![Layer {
            source: source.clone(),
            files,
        }])
        .expect("load")
    };
    let t0 = Instant::now();
    let old = load(old_files);
    let new = new_files.map(load);
    let load_ms = ms(t0.elapsed());
    let new = new.as_ref().unwrap_or(&old);
    let run = || svcgen::update(&old, &job["oldValues"], new, &job["newValues"], &repo).expect("update");
    let t1 = Instant::now();
    let first = run();
    let first_ms = ms(t1.elapsed());
    let times = warm.run(|| {
        std::hint::black_box(run());
    });
    let changes: Vec<Value> = first
        .changes
        .iter()
        .map(|c| json!([c.path, c.kind, c.size, c.executable]))
        .collect();
    let conflicts: Vec<Value> = first
        .summary
        .conflicts
        .iter()
        .map(|c| json!([c.path, c.kind]))
        .collect();
    println!(
        "{}",
        json!({"engine": "native", "mode": "update", "loadMs": load_ms, "firstMs": first_ms,
               "digest": {"changes": changes, "conflicts": conflicts, "hash": fnv(&first.data)},
               "summary": summarize(&times), "times": times})
    );
}

struct Warm {
    warmup: Duration,
    min_runs: usize,
    min_time: Duration,
    max_runs: usize,
}

impl Warm {
    /// Warms up, then runs until both `min_runs` and `min_time` are reached (or `max_runs`); ms per call.
    fn run(&self, mut f: impl FnMut()) -> Vec<f64> {
        let end = Instant::now() + self.warmup;
        loop {
            f();
            if Instant::now() >= end {
                break;
            }
        }
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < self.max_runs && (times.len() < self.min_runs || start.elapsed() < self.min_time) {
            let t = Instant::now();
            f();
            times.push(ms(t.elapsed()));
        }
        times
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summarize(times: &[f64]) -> Value {
    let mut s = times.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    json!({"runs": s.len(), "median": at(0.5), "p10": at(0.1), "p90": at(0.9), "min": s[0], "max": s[s.len() - 1]})
}

/// FNV-1a of the output, to compare with the WASM build's bytes.
fn fnv(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// Every regular file under `dir`, sorted by path, as the hosts hand a set to the core.
/// Compiles a set as the WASM workers do (tests/bench/lib/common.js `packSet`): one layer whose
/// source is `bench`, which the answers file records, so that both builds write the same bytes.
fn load(files: Vec<SourceFile>) -> Result<TemplateSet, svcgen::Error> {
    TemplateSet::load_layers(vec![Layer {
        source: "bench".into(),
        files,
    }])
}

fn read_set(dir: &Path) -> Vec<SourceFile> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<SourceFile>) {
        for entry in fs::read_dir(dir).expect("read folder") {
            let path = entry.expect("entry").path();
            let meta = fs::metadata(&path).expect("metadata");
            if meta.is_dir() {
                walk(root, &path, files);
            } else {
                files.push(SourceFile {
                    path: path.strip_prefix(root).expect("inside").to_string_lossy().replace('\\', "/"),
                    contents: fs::read(&path).expect("read"),
                    executable: meta.permissions().mode() & 0o111 != 0,
                });
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
