//! The machine and date a measurement was taken on, for the result files.

use std::time::{SystemTime, UNIX_EPOCH};

/// Processor, core count, memory and load of the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo, or "unknown CPU".
    pub cpu: String,
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// `MemTotal` from /proc/meminfo, in bytes (0 when unknown).
    pub memory_bytes: u64,
    /// The three load averages from /proc/loadavg, as written there.
    pub load: String,
}

impl Machine {
    /// Reads the host's description from /proc (Linux); missing files give placeholders.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown CPU".to_string(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024);
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown".to_string());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cpu, cores, memory_bytes, load }
    }

    /// Formats CPU, cores and memory as one line.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} logical CPUs, {:.1} GiB RAM)",
            self.cpu,
            self.cores,
            self.memory_bytes as f64 / f64::from(1u32 << 30)
        )
    }
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date, counting in 400-year
/// eras of 146,097 days that start on March 1st.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts days from 1970-01-01 one by one, as an independent reference.
    fn naive_days(year: i64, month: u32, day: u32) -> i64 {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut days = 0;
        for y in 1970..year {
            days += if leap(y) { 366 } else { 365 };
        }
        let lengths = [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        days += lengths[..(month - 1) as usize].iter().sum::<i64>();
        days + i64::from(day) - 1
    }

    #[test]
    fn civil_dates_match_day_counting() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2000, 3, 1), (2024, 12, 31), (2026, 12, 4), (2100, 3, 1)] {
            assert_eq!(civil_from_days(naive_days(y, m, d)), (y, m, d));
        }
    }
}
