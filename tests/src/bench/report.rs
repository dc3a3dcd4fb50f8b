//! The results: one section per scenario, printed as markdown tables and
//! written as JSON with the machine they ran on.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// One scenario's table, and the same figures as JSON.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    /// How it was measured, printed under the title.
    pub note: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub json: Vec<Value>,
}

impl Section {
    pub fn new(title: &str, note: &str, columns: &[&str]) -> Self {
        Self {
            title: title.into(),
            note: note.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
            json: Vec::new(),
        }
    }

    /// Adds a table row and its JSON record.
    pub fn push(&mut self, row: Vec<String>, record: Value) {
        self.rows.push(row);
        self.json.push(record);
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n{}\n\n", self.title, self.note);
        let _ = writeln!(out, "| {} |", self.columns.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.columns.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

/// The machine and the run, for the header of the report.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub date: String,
    pub command: String,
}

impl Machine {
    pub fn detect(command: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        Self {
            cpus,
            cpu_model,
            date,
            command,
        }
    }
}

/// Every section as markdown, after a line naming the machine.
pub fn markdown(machine: &Machine, sections: &[Section]) -> String {
    let mut out = format!(
        "Machine: {} CPUs ({}), {}. Command: `{}`\n\n",
        machine.cpus, machine.cpu_model, machine.date, machine.command
    );
    for section in sections {
        out.push_str(&section.markdown());
        out.push('\n');
    }
    out
}

pub fn to_json(machine: &Machine, sections: &[Section]) -> Value {
    let sections: Vec<Value> = sections
        .iter()
        .map(|s| json!({ "title": s.title, "note": s.note, "results": s.json }))
        .collect();
    json!({
        "machine": { "cpus": machine.cpus, "cpu_model": machine.cpu_model },
        "date": machine.date,
        "command": machine.command,
        "sections": sections,
    })
}

/// A figure with `digits` decimals.
pub fn fixed(value: f64, digits: usize) -> String {
    format!("{value:.digits$}")
}

/// A rate without decimals, thousands separated for reading.
pub fn rate(value: f64) -> String {
    let whole = value.round() as u64;
    let text = whole.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_group_thousands() {
        assert_eq!(super::rate(1234567.4), "1,234,567");
        assert_eq!(super::rate(999.0), "999");
    }
}
