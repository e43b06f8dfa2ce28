//! `rspd audit verify` and `rspd audit list`: the administrator's view of the hash-chained audit trail
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
        AuditCommand::List(args) => {
            for row in store.audit_rows_after(args.after, args.limit.clamp(1, 10_000))? {
                println!("{}", serde_json::to_string(&row).unwrap_or_default());
            }
            Ok(())
        }
    }
}
