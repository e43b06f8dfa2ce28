//! `rspd audit verify`, `rspd audit list` and `rspd audit erase`: the administrator's view of the hash-chained audit trail
//! (see [`crate::audit`]).

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::server::StartError;
use crate::store::{AuditVerifyError, Store};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain and check every row's hash, its link to the row before and the chain head.
    /// Exit code 0: intact; 3: broken (the first bad row is named); 1: database unreachable.
    Verify,
    /// Print audit rows as JSON lines (all operators, refused calls included), oldest first.
    List(AuditListArgs),
    /// Erase a subscriber's identifiers (ICCID, EID or matchingId) from the audit trail (GDPR): the rows, their
    /// digests and the chain stay (`audit verify` still holds); the clear values are gone.
    Erase(AuditEraseArgs),
}

#[derive(Debug, Args)]
pub struct AuditEraseArgs {
    /// Only this operator's rows (default: every operator's).
    #[arg(long)]
    pub operator: Option<String>,
    /// The identifiers to erase.
    #[arg(required = true)]
    pub values: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Only rows after this seq.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// At most this many rows.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

pub fn run(config: &Config, command: AuditCommand) -> Result<(), StartError> {
    let store = Store::open_for_command(&config.database_settings())?;
    match command {
        AuditCommand::Verify => match store.verify_audit_chain() {
            Ok(rows) => {
                println!("audit chain intact: {rows} row(s)");
                Ok(())
            }
            Err(AuditVerifyError::Store(e)) => Err(e.into()),
            Err(broken @ AuditVerifyError::Broken { .. }) => Err(StartError::AuditBroken(broken.to_string())),
        },
        AuditCommand::Erase(args) => {
            // The output names each value by the digest the logs use, never in clear.
            crate::logging::set_identifier_key(store.server_key(crate::logging::IDENTIFIER_KEY_NAME)?);
            let now = crate::clock::unix_ms(time::OffsetDateTime::now_utc());
            for value in &args.values {
                let erased = store.erase_audit_identifier(args.operator.as_deref(), value.trim(), now)?;
                println!("{}: identifiers erased from {erased} audit row(s)", crate::logging::pii(value.trim()));
            }
            Ok(())
        }
        AuditCommand::List(args) => {
            for row in store.audit_rows_after(args.after, args.limit.clamp(1, 10_000))? {
                println!("{}", serde_json::to_string(&row).unwrap_or_default());
            }
            Ok(())
        }
    }
}
