//! The `rspd` command line: `serve`, `pki init`, `profile import|type`, `template upload|batch`, `stock`,
//! `keys rotate`, `order create`, `eim …`, `audit verify|list`, `db migrate`.
//!
//! Every failure ends in one line on standard error (`rspd: …`) and an exit code:
//! 2 = configuration or usage (bad value, unreadable file), 3 = `audit verify` found a broken chain,
//! 1 = anything else (database down, port taken, …). No backtraces.

pub mod audit;
pub mod download;
pub mod eim;
pub mod inventory;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, ConfigSource, LogFormat};
use crate::pki::test_pki::{self, TestPkiRequest};
use crate::pki::Curve;
use crate::server::{self, StartError};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(name = "rspd", version, about = "Remote SIM provisioning server: SM-DP+ (GSMA SGP.22) and eIM (GSMA SGP.32)")]
pub struct Cli {
    /// Configuration file (TOML). Without one, defaults and RSPD_… environment variables apply.
    #[arg(long, short = 'c', global = true, env = "RSPD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SM-DP+/eIM: device listener (ES9+, ESipa) and operator listener (ES2+, fleet API).
    Serve,
    /// Certificates and keys.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Profile packages (SAIP).
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// Templates and personalization batches (profiles generated when ordered).
    Template {
        #[command(subcommand)]
        command: crate::cli::inventory::TemplateCommand,
    },
    /// Stock per profile type: profiles by state.
    Stock(crate::cli::inventory::StockArgs),
    /// Secrets master keys.
    Keys {
        #[command(subcommand)]
        command: crate::cli::inventory::KeysCommand,
    },
    /// Download orders.
    Order {
        #[command(subcommand)]
        command: OrderCommand,
    },
    /// eIM (SGP.32): eUICC registration, AddInitialEim, signed packages, orders.
    Eim {
        #[command(subcommand)]
        command: crate::cli::eim::EimCommand,
    },
    /// The hash-chained audit trail: verify it, list it.
    Audit {
        #[command(subcommand)]
        command: crate::cli::audit::AuditCommand,
    },
    /// The relational store.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Print the digest that log lines show for each ICCID, EID, IMEI or matchingId given (grep the logs for it).
    LogDigest {
        /// The identifiers.
        #[arg(required = true)]
        values: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a complete SGP.22 test PKI (CI, EUM, eUICC, DPauth, DPpb, DP TLS, operator CA and client). Never for production.
    Init(PkiInitArgs),
}

#[derive(Debug, Args)]
pub struct PkiInitArgs {
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Which curve(s) to generate the SGP.22 hierarchy on.
    #[arg(long, value_enum, default_value_t = CurveArg::Both)]
    pub curve: CurveArg,
    /// SM-DP+ address(es) for the DP TLS certificate (`host` or `host:port`); localhost and 127.0.0.1 are always added.
    #[arg(long = "address", value_name = "HOST[:PORT]", default_value = "localhost")]
    pub addresses: Vec<String>,
    /// Replace an existing PKI in DIR.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CurveArg {
    Nist,
    Brainpool,
    Both,
}

impl CurveArg {
    fn curves(self) -> Vec<Curve> {
        match self {
            CurveArg::Nist => vec![Curve::NistP256],
            CurveArg::Brainpool => vec![Curve::BrainpoolP256r1],
            CurveArg::Both => Curve::ALL.to_vec(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Validate and store SAIP profile packages (each file on its own; a bad one does not stop the others).
    Import(crate::cli::download::ProfileImportArgs),
    /// Create or replace a profile type and the StoreMetadata its profiles get.
    Type(crate::cli::inventory::ProfileTypeArgs),
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Create a released download order for an imported profile (or a profile personalized from an imported
    /// template) and print its activation code.
    Create(Box<crate::cli::download::OrderCreateArgs>),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations to the configured database and exit.
    Migrate,
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rspd: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), StartError> {
    match cli.command {
        Command::Pki { command: PkiCommand::Init(args) } => pki_init(args),
        Command::Db { command: DbCommand::Migrate } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            let store = Store::open_for_command(&config.database_settings())?;
            let applied = store.migrate()?;
            println!("{}: {} migration(s) applied", config.database_url(), applied.len());
            for version in applied {
                println!("  {version}");
            }
            Ok(())
        }
        Command::Profile { command: ProfileCommand::Import(args) } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::download::profile_import(&config, args)
        }
        Command::Profile { command: ProfileCommand::Type(args) } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::inventory::profile_type(&config, args)
        }
        Command::Template { command } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::inventory::template(&config, command)
        }
        Command::Stock(args) => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::inventory::stock(&config, args)
        }
        Command::Keys { command: crate::cli::inventory::KeysCommand::Rotate(args) } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::inventory::keys_rotate(&config, args)
        }
        Command::Order { command: OrderCommand::Create(args) } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::download::order_create(&config, *args)
        }
        Command::Eim { command } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::eim::run(&config, command)
        }
        Command::LogDigest { values } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            let store = Store::open_for_command(&config.database_settings())?;
            let key = store.server_key(crate::logging::IDENTIFIER_KEY_NAME)?;
            for value in values {
                println!("{value} {}", crate::logging::identifier_digest(&key, value.trim()));
            }
            Ok(())
        }
        Command::Audit { command } => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            crate::cli::audit::run(&config, command)
        }
        Command::Serve => {
            let config = load_config(cli.config)?;
            init_logging(&config);
            serve(config)
        }
    }
}

fn load_config(file: Option<PathBuf>) -> Result<Config, StartError> {
    Ok(config::load(&ConfigSource::from_process(file))?)
}

fn serve(config: Config) -> Result<(), StartError> {
    actix_web::rt::System::new().block_on(async move {
        let running = server::start(config).await?;
        print!("{}", running.banner);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tracing::info!(device = %running.device_addr, operator = %running.operator_addr, "rspd started");
        running.wait().await.map_err(|e| StartError::Io { what: "server".into(), reason: e.to_string() })
    })
}

fn pki_init(args: PkiInitArgs) -> Result<(), StartError> {
    let generated = test_pki::generate(&TestPkiRequest {
        out: args.out,
        curves: args.curve.curves(),
        addresses: args.addresses,
        force: args.force,
    })?;
    let p = &generated.paths;
    println!("TEST PKI (never for production) written to {}", p.root().display());
    for curve in &generated.curves {
        println!("  {curve}: {}", p.curve_dir(*curve).display());
        println!(
            "    CI {}  DPauth {}  DPpb {}  DP TLS {}",
            p.ci_cert(*curve).display(),
            p.dpauth_cert(*curve).display(),
            p.dppb_cert(*curve).display(),
            p.dptls_cert(*curve).display()
        );
    }
    println!("  sample eUICC EID {}", generated.eid);
    println!(
        "  operator CA {}  client {} (operator id {}, sha256 {})",
        p.operator_ca_cert().display(),
        p.operator_client_cert().display(),
        generated.operator_id,
        generated.operator_client_fingerprint_sha256
    );
    Ok(())
}

fn init_logging(config: &Config) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(&config.log.level));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log.format {
        // Peer-supplied strings cannot break a text line (crate::logging).
        LogFormat::Text => builder.fmt_fields(crate::logging::text_fields()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
