//! Latency and outcome counts per function, merged from every worker thread; percentiles by sorting the recorded
//! samples (a bounded run keeps them all: 1,000,000 samples are 16 MB).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What one worker recorded: per function, the latency of each success and the status code of each failure.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    functions: BTreeMap<&'static str, Samples>,
}

#[derive(Debug, Default, Clone)]
struct Samples {
    ok: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    /// Records one call of `function` that took `took`: a success, or a failure with its status code.
    pub fn record(&mut self, function: &'static str, took: Duration, outcome: Result<(), String>) {
        let s = self.functions.entry(function).or_default();
        match outcome {
            Ok(()) => s.ok.push(took),
            Err(code) => *s.errors.entry(code).or_default() += 1,
        }
    }

    /// Times `f` as one call of `function`; `code` names a failure's status code.
    pub fn time<T, E>(
        &mut self,
        function: &'static str,
        code: impl Fn(&E) -> String,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let started = std::time::Instant::now();
        let result = f();
        self.record(function, started.elapsed(), result.as_ref().map(|_| ()).map_err(&code));
        result
    }

    /// Adds another worker's records.
    pub fn merge(&mut self, other: Recorder) {
        for (function, samples) in other.functions {
            let mine = self.functions.entry(function).or_default();
            mine.ok.extend(samples.ok);
            for (code, n) in samples.errors {
                *mine.errors.entry(code).or_default() += n;
            }
        }
    }

    /// Successes of `function` so far.
    pub fn successes(&self, function: &str) -> u64 {
        self.functions.get(function).map_or(0, |s| s.ok.len() as u64)
    }

    /// Failures of every function.
    pub fn failures(&self) -> u64 {
        self.functions.values().map(|s| s.errors.values().sum::<u64>()).sum()
    }

    /// The summary of each function over a run of `wall` seconds.
    pub fn summarize(&self, wall: Duration) -> Vec<FunctionStats> {
        self.functions
            .iter()
            .map(|(function, s)| {
                let mut ok = s.ok.clone();
                ok.sort_unstable();
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let pct = |p: f64| {
                    if ok.is_empty() {
                        0.0
                    } else {
                        let rank = ((p / 100.0) * ok.len() as f64).ceil() as usize;
                        ms(ok[rank.clamp(1, ok.len()) - 1])
                    }
                };
                FunctionStats {
                    function: (*function).to_owned(),
                    ok: ok.len() as u64,
                    errors: s.errors.clone(),
                    per_second: ok.len() as f64 / wall.as_secs_f64().max(1e-9),
                    p50_ms: pct(50.0),
                    p95_ms: pct(95.0),
                    p99_ms: pct(99.0),
                    max_ms: ok.last().map_or(0.0, |d| ms(*d)),
                }
            })
            .collect()
    }
}

/// One function's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionStats {
    pub function: String,
    pub ok: u64,
    /// Failures by status code (ES9+/ES2+ `subject/reason`, ESipa error, or a transport failure).
    pub errors: BTreeMap<String, u64>,
    /// Successes per wall-clock second of the run.
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_every_sample_of_every_worker() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for ms in 1..=50 {
            a.record("f", Duration::from_millis(ms), Ok(()));
            b.record("f", Duration::from_millis(50 + ms), Ok(()));
        }
        b.record("f", Duration::from_millis(1), Err("8.1/3.8".into()));
        a.merge(b);
        let s = &a.summarize(Duration::from_secs(2))[0];
        assert_eq!((s.ok, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms), (100, 50.0, 95.0, 99.0, 100.0));
        assert_eq!(s.per_second, 50.0);
        assert_eq!(s.errors.get("8.1/3.8"), Some(&1));
        assert_eq!(a.failures(), 1);
    }
}
