//! `accord facility`: the registry of protected facilities.

use accord_app::facility::{self, Facility, Registered};
use accord_stix::Clock;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Protected facilities: networks, domains and autonomous systems whose
/// any touch opens a critical hotline case at once.
///
/// A facility is a STIX `infrastructure` object with Accord's facility
/// extension, stored in this node's `facilities` collection (a leaf of its
/// log); serve that collection in an API root to share the registry with
/// partners under their agreements. Facilities received from partners
/// count too.
///
/// Whenever objects come in (a partner's pull, a partner's TAXII POST, a
/// file ingested, `accord match` hits) and an indicator's pattern, an
/// observed address, domain, URL, e-mail address or AS number falls in a
/// facility's networks or domains (subdomains included), a critical case
/// naming the facility is opened, with the objects attached, addressed to
/// the partner whose `jurisdiction` is the facility's (kept local when it
/// is this node's own, `[residency] jurisdiction`); an open case of that
/// facility gets a note instead. `accord hotline list` shows them.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord init -o accord.toml --name cert-a\n  \
    accord facility add --name Exchange --jurisdiction DE --network 198.51.100.0/24\n  \
    accord facility add --name Grid --jurisdiction FR --sector energy --domain grid.example\n  \
    accord facility list --json\n  \
    accord facility remove Grid\n\n\
A CSV file (lists separated by `;`), or a STIX bundle of infrastructure or identity objects\n\
carrying the facility extension:\n  \
    printf 'name,jurisdiction,networks\\nPort,NL,192.0.2.0/24\\n' > facilities.csv\n  \
    accord facility import facilities.csv")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

/// Where the node is, and how to print.
#[derive(clap::Args, Clone)]
struct Common {
    /// The node's configuration file (its data directory, jurisdiction
    /// and partners).
    #[arg(long, value_name = "FILE", default_value = "accord.toml")]
    config: PathBuf,
    /// Print JSON (one object a line for lists).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Register a protected facility of this node.
    #[command(after_long_help = "Examples:\n  \
        accord facility add --name 'Grid Operator' --jurisdiction FR --sector energy --network 203.0.113.128/25 --domain grid.example\n  \
        accord facility add --name 'Example Exchange' --jurisdiction DE --owner 'Example Exchange AG' --asn 64500 --json")]
    Add {
        #[command(flatten)]
        common: Common,
        /// Its name (unique, compared without case).
        #[arg(long)]
        name: String,
        /// Its jurisdiction: an ISO 3166-1 alpha-2 code (DE, FR, US…).
        #[arg(long, value_name = "CC")]
        jurisdiction: String,
        /// Who runs it.
        #[arg(long)]
        owner: Option<String>,
        /// Its sector (finance, energy, health…).
        #[arg(long)]
        sector: Option<String>,
        /// A network (CIDR, at most a /8 in IPv4 or /16 in IPv6); repeat for several.
        #[arg(long = "network", value_name = "CIDR")]
        networks: Vec<String>,
        /// A domain (its subdomains included; not a top-level domain); repeat for several.
        #[arg(long = "domain", value_name = "DOMAIN")]
        domains: Vec<String>,
        /// An autonomous system number (64500 or AS64500); repeat for several.
        #[arg(long = "asn", value_name = "N", value_parser = parse_asn)]
        asns: Vec<u32>,
    },
    /// Register the facilities of a file: CSV with the header
    /// `name,owner,sector,jurisdiction,networks,domains,asns` (lists
    /// separated by `;`), or STIX JSON (a bundle, an object or JSON lines)
    /// of `infrastructure` or `identity` objects with the facility
    /// extension. All are registered, or none.
    #[command(after_long_help = "Examples:\n  \
        accord facility import facilities.csv\n  \
        accord facility import registry-bundle.json --json")]
    Import {
        #[command(flatten)]
        common: Common,
        /// The file (`-` reads standard input).
        file: PathBuf,
    },
    /// List the protected facilities: this node's and those received from
    /// partners.
    #[command(after_long_help = "Examples:\n  accord facility list\n  accord facility list --json")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Remove one of this node's facilities (a revoked version is stored,
    /// and reaches partners the way the facility did).
    #[command(after_long_help = "Examples:\n  accord facility remove 'Example Exchange'")]
    Remove {
        #[command(flatten)]
        common: Common,
        /// The facility's name.
        name: String,
    },
}

fn parse_asn(s: &str) -> Result<u32, String> {
    let n = s
        .strip_prefix("AS")
        .or_else(|| s.strip_prefix("as"))
        .unwrap_or(s);
    n.parse::<u32>()
        .map_err(|_| format!("{s:?} is not an AS number (e.g. 64500 or AS64500)"))
}

impl Sub {
    fn common(&self) -> &Common {
        match self {
            Sub::Add { common, .. }
            | Sub::Import { common, .. }
            | Sub::List { common }
            | Sub::Remove { common, .. } => common,
        }
    }
}

fn line(r: &Registered) -> String {
    let f = &r.facility;
    let mut what: Vec<String> = Vec::new();
    what.extend(f.networks.iter().cloned());
    what.extend(f.domains.iter().cloned());
    what.extend(f.asns.iter().map(|a| format!("AS{a}")));
    format!(
        "{:<28} {}  {:<12} {:<8} {}",
        f.name,
        f.jurisdiction,
        f.sector.as_deref().unwrap_or("-"),
        r.source,
        what.join(" ")
    )
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let common = args.command.common();
    let config = accord_app::config::load(&common.config).map_err(crate::flat)?;
    let store = crate::data_dir::open_node(&config, clock)?;
    let now = clock.now_timestamp();
    let json = common.json;
    let register = |fs: &[Facility]| -> Result<()> {
        let me = accord_app::hotline::my_identity(&config, &*store, clock.now_micros())
            .map_err(crate::flat)?;
        let ids = facility::add(&*store, &me, fs, now).map_err(crate::flat)?;
        for (f, id) in fs.iter().zip(&ids) {
            if json {
                println!("{}", serde_json::json!({"name": f.name.trim(), "id": id}));
            } else {
                println!("{id}  {}", f.name.trim());
            }
        }
        if !json {
            eprintln!(
                "registered {} facility(ies); a touch now opens a critical hotline case",
                ids.len()
            );
        }
        Ok(())
    };
    match &args.command {
        Sub::Add {
            name,
            jurisdiction,
            owner,
            sector,
            networks,
            domains,
            asns,
            ..
        } => register(&[Facility {
            name: name.clone(),
            owner: owner.clone(),
            sector: sector.clone(),
            jurisdiction: jurisdiction.clone(),
            networks: networks.clone(),
            domains: domains.clone(),
            asns: asns.clone(),
        }])?,
        Sub::Import { file, .. } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .context("reading standard input")?;
                s
            } else {
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let (fs, skipped) = facility::parse_import(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if fs.is_empty() {
                anyhow::bail!(
                    "{}: no facility in it ({skipped} object(s) without the facility extension)",
                    file.display()
                );
            }
            register(&fs).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if skipped > 0 && !json {
                eprintln!("{skipped} object(s) without the facility extension skipped");
            }
        }
        Sub::List { .. } => {
            let live = facility::list(&*store).map_err(crate::flat)?;
            if !json && live.is_empty() {
                eprintln!("no protected facility registered (`accord facility add` registers one)");
            }
            for r in &live {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!("{}", line(r));
                }
            }
        }
        Sub::Remove { name, .. } => {
            let id = facility::remove(&*store, name, now).map_err(crate::flat)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"name": name, "id": id, "revoked": true})
                );
            } else {
                println!("{id}");
                eprintln!("removed {name:?}: a revoked version is stored");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
