//! `chronorag serve` and `chronorag keys create`.

use std::path::PathBuf;
use std::sync::Arc;

use chronorag::api::auth::{self, KeyEntry, Role};
use chronorag::{Config, Engine, Error, Result};

/// Flags of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:7070, or `server.addr` from the config file).
    #[arg(long, env = "CHRONORAG_ADDR")]
    pub addr: Option<String>,
    /// API keys file (TOML, keys stored hashed); without it authentication is off, which is
    /// only allowed on a loopback address.
    #[arg(long, env = "CHRONORAG_AUTH")]
    pub auth: Option<PathBuf>,
    /// Listen on a non-loopback address without authentication.
    #[arg(long)]
    pub allow_unauthenticated: bool,
}

/// Runs `serve`.
pub fn run(mut cfg: Config, args: ServeArgs) -> Result<()> {
    if let Some(a) = args.addr {
        cfg.server.addr = a;
    }
    if let Some(a) = args.auth {
        cfg.server.auth_file = Some(a);
    }
    let server = cfg.server.clone();
    let engine = Arc::new(Engine::open(cfg)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("chronorag-http")
        .build()
        .map_err(Error::Io)?;
    rt.block_on(chronorag::api::serve(
        engine,
        server,
        args.allow_unauthenticated,
    ))
}

/// `keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Generate a new API key, print it once and append its hash to a keys file.
    Create {
        /// Keys file (created when missing).
        #[arg(long)]
        file: PathBuf,
        /// Key name (the actor recorded on its transactions).
        #[arg(long)]
        name: String,
        /// Role: read, write or admin.
        #[arg(long, value_parser = ["read", "write", "admin"])]
        role: String,
        /// Namespace the role applies to (`*` = every namespace).
        #[arg(long, default_value = "*")]
        namespace: String,
    },
}

/// Runs `keys`.
pub fn keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Create {
            file,
            name,
            role,
            namespace,
        } => {
            if name.trim().is_empty() || name.len() > 64 {
                return Err(Error::invalid("key names are 1-64 characters"));
            }
            if namespace != "*" {
                chronorag::model::validate_namespace(&namespace)?;
            }
            let role = Role::parse(&role).ok_or_else(|| Error::invalid("unknown role"))?;
            let key = auth::generate_key()?;
            auth::append_key(
                &file,
                KeyEntry {
                    name: name.clone(),
                    sha256: auth::hash_key(&key),
                    roles: [(namespace.clone(), role)].into(),
                },
            )?;
            println!("{key}");
            eprintln!(
                "created key {name:?} ({} on {namespace}) in {}; the key is shown only once",
                role.as_str(),
                file.display()
            );
            Ok(())
        }
    }
}
