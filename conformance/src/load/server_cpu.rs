//! The CPU time a server process has used, read from Linux `/proc/<pid>/stat` (utime + stime, in clock ticks of
//! 10 ms): it includes threads that have exited (a blocking pool's idle workers), which summing the live tasks'
//! `/proc/<pid>/task/*/schedstat` would miss. Differences over a run of seconds are precise to about 1 %.

use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) used so far by process `pid`, all its threads included.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(Path::new(&path)).map_err(|e| format!("{path}: {e}"))?;
    parse_stat(&stat).ok_or_else(|| format!("{path}: not a process stat line"))
}

/// CPU seconds used so far by every process of this machine whose command name is `name` (e.g. `postgres`: the
/// postmaster and every backend), by PID.
pub fn processes_named(name: &str) -> std::collections::HashMap<u32, f64> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Default::default() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == name))
        .filter_map(|pid| Some((pid, cpu_seconds(pid).ok()?)))
        .collect()
}

/// The CPU seconds a set of processes used between two [`processes_named`] samples: a process in both counts its
/// difference, one that started in between counts all of it (one that ended in between is lost).
pub fn used_between(before: &std::collections::HashMap<u32, f64>, after: &std::collections::HashMap<u32, f64>) -> f64 {
    after.iter().map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0)).filter(|d| *d >= 0.0).sum()
}

/// utime (field 14) + stime (field 15) of a stat line, in seconds. The command name (field 2) may hold spaces
/// and parentheses: fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, so index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_after_a_command_name_with_spaces() {
        let line = "4242 (rspd (node 1)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 1 0 0";
        assert_eq!(parse_stat(line), Some(3.0));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let mine = processes_named(comm.trim_end());
        assert!(mine.contains_key(&std::process::id()), "{mine:?}");
    }

    #[test]
    fn processes_started_in_between_count_whole() {
        let before = [(1, 2.0), (2, 1.0)].into_iter().collect();
        let after = [(1, 2.5), (3, 0.25)].into_iter().collect();
        assert_eq!(used_between(&before, &after), 0.75);
    }
}
