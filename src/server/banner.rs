//! The start-up text of `rspd serve`: where the listeners, the data, the database and the test
//! PKI are, and two `curl` lines a newcomer can paste at once.

use std::fmt;
use std::net::SocketAddr;

use crate::config::Config;
use crate::pki::Curve;

use super::tls_material::{TestPkiUse, TEST_OPERATOR_ID};

/// Printed to standard output once the sockets are bound.
#[derive(Debug, Clone)]
pub struct Banner {
    lines: Vec<String>,
}

impl Banner {
    /// One more line (e.g. where the secrets master key is).
    pub(super) fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    pub(super) fn new(
        config: &Config,
        applied_migrations: &[String],
        device: SocketAddr,
        operator: SocketAddr,
        metrics: Option<SocketAddr>,
        test_pki: Option<&TestPkiUse>,
    ) -> Self {
        let device_scheme = if config.device.plain_http { "http" } else { "https" };
        let mut lines = vec![
            format!("rspd {} — SM-DP+ (GSMA SGP.22) and eIM (GSMA SGP.32)", env!("CARGO_PKG_VERSION")),
            format!("  data dir           {}", config.data_dir.display()),
            format!(
                "  database           {} ({} migration(s) applied now)",
                config.database_url(),
                applied_migrations.len()
            ),
            format!("  device listener    {device_scheme}://{device}  (ES9+, ESipa: server TLS)"),
            format!("  operator listener  https://{operator}  (ES2+, fleet API: mutual TLS)"),
        ];
        if config.device.plain_http {
            lines.push(
                "  !! device.plain_http = true: the device listener serves plain HTTP (put a TLS terminator in front)"
                    .into(),
            );
        }
        if let Some(m) = metrics {
            lines.push(format!("  metrics listener   http://{m}/metrics"));
        }
        lines.push(format!("  SM-DP+ address(es) {}", config.smdp_addresses().join(", ")));

        if let Some(pki) = test_pki {
            let p = &pki.paths;
            let ci = p.ci_cert(Curve::NistP256);
            lines.push(format!(
                "  TEST PKI — NOT FOR PRODUCTION — in {}{}",
                p.root().display(),
                if pki.generated_now { " (generated now)" } else { "" }
            ));
            lines.push(format!("    CI certificate (NIST)    {}", ci.display()));
            lines.push(format!(
                "    operator client cert     {} (key {}), operator id {TEST_OPERATOR_ID}",
                p.operator_client_cert().display(),
                p.operator_client_key().display()
            ));
            lines.push("  try:".into());
            lines.push(format!("    curl --cacert {} https://localhost:{}/healthz", ci.display(), device.port()));
            lines.push(format!(
                "    curl --cacert {} --cert {} --key {} https://localhost:{}/api/v1/whoami",
                ci.display(),
                p.operator_client_cert().display(),
                p.operator_client_key().display(),
                operator.port()
            ));
        }
        Banner { lines }
    }
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
