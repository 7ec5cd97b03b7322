//! Native timing of the bundled microservice set: `cargo bench -p svcgen --bench render`.
//! Prints one JSON line per measurement so tests/bench can compare it with the WASM build.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

fn main() {
    let dir = common::set_dir("microservice");
    let values_file = dir.join("../../examples/values/user-service.yaml");
    let values: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&values_file).expect("example values")).expect("YAML");
    let files = common::read_set(&dir);

    let load = measure(50, || {
        svcgen::TemplateSet::load(files.clone()).expect("load");
    });
    report("native", "load (parse manifest + compile templates)", &load);

    let set = svcgen::TemplateSet::load(files).expect("load");
    report(
        "native",
        "validate + derive",
        &measure(500, || {
            set.validate(&values).expect("validate");
        }),
    );
    report(
        "native",
        "plan",
        &measure(500, || {
            set.plan(&values).expect("plan");
        }),
    );
    let output = set.render(&values).expect("render");
    let render = measure(500, || {
        set.render(&values).expect("render");
    });
    report(
        "native",
        &format!("render {} files, {} bytes", output.files.len(), output.data.len()),
        &render,
    );
}

/// Runs `f` a few times to warm up, then `runs` times; returns the sorted timings in microseconds.
fn measure(runs: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..runs / 10 + 1 {
        f();
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

fn report(engine: &str, what: &str, times: &[f64]) {
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{{\"engine\":\"{engine}\",\"what\":\"{what}\",\"runs\":{},\"median_us\":{:.1},\"p10_us\":{:.1},\"p90_us\":{:.1}}}",
        times.len(),
        at(0.5),
        at(0.1),
        at(0.9)
    );
}
