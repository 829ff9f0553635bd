//! `accord import attack`: a MITRE ATT&CK STIX 2.1 bundle (Enterprise, ICS,
//! Mobile) as a read-only reference collection.

use accord_app::ingest::{Options, ingest};
use accord_app::input::Source;
use accord_stix::Clock;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The license file that must accompany every copy of ATT&CK.
pub const LICENSE_FILE: &str = "ATTACK-LICENSE.txt";

/// Load a MITRE ATT&CK STIX 2.1 bundle (Enterprise, ICS or Mobile, from
/// mitre-attack/attack-stix-data) as a read-only reference collection.
///
/// Every object is validated and stored as `accord ingest` does (origin
/// `attack`), so a newer release adds new versions and an unchanged one
/// changes nothing. The collection is marked as a reference collection:
/// served over TAXII like any other collection listed in the
/// configuration, but a POST or DELETE to it is refused (403). ATT&CK's
/// terms of use require its license to accompany every copy: the
/// `ATTACK-LICENSE.txt` beside the bundle (or `--license FILE`) is copied to
/// `DATA_DIR/reference/COLLECTION/ATTACK-LICENSE.txt`; without it nothing is
/// imported.
///
/// Exit status: as `accord ingest` (0 all stored or already there, 1 some
/// object rejected, 2 failure).
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord import attack data/demo/stix/ics-attack-18.1.json\n  \
    accord import attack --collection attack-ics --license data/demo/stix/ATTACK-LICENSE.txt data/demo/stix/ics-attack-18.1.json")]
pub struct Args {
    /// The ATT&CK bundle (`enterprise-attack-*.json`, `ics-attack-*.json`,
    /// `mobile-attack-*.json`).
    bundle: PathBuf,
    /// The store collection to load it into.
    #[arg(long, default_value = "attack")]
    collection: String,
    /// ATT&CK's license text (default: `ATTACK-LICENSE.txt` beside the
    /// bundle).
    #[arg(long, value_name = "FILE")]
    license: Option<PathBuf>,
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// Do not show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// What the bundle says it is.
#[derive(Default)]
struct Release {
    /// The `x-mitre-collection`'s name and version (`ICS ATT&CK 18.1`).
    name: Option<String>,
    /// `attack-pattern`s with an ATT&CK technique id.
    techniques: u64,
}

fn survey(bytes: &[u8], path: &Path) -> Result<Release> {
    let mut r = Release::default();
    accord_stix::read_document(bytes, |o| {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(o.text) else {
            return;
        };
        match v["type"].as_str() {
            Some("x-mitre-collection") => {
                r.name = Some(format!(
                    "{} {}",
                    v["name"].as_str().unwrap_or("ATT&CK"),
                    v["x_mitre_version"].as_str().unwrap_or("")
                ));
            }
            Some("attack-pattern") => {
                let mitre = v["external_references"].as_array().is_some_and(|refs| {
                    refs.iter().any(|e| {
                        e["source_name"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("mitre-") && s.ends_with("attack"))
                            && e["external_id"].is_string()
                    })
                });
                if mitre {
                    r.techniques += 1;
                }
            }
            _ => {}
        }
    })
    .map_err(|e| anyhow::anyhow!("reading {}: {e:?}", path.display()))?;
    Ok(r)
}

/// A collection name as a directory name.
fn dir_name(collection: &str) -> String {
    collection
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let source = Source::open(&args.bundle).map_err(crate::flat)?;
    let release = survey(source.bytes(), &args.bundle)?;
    if release.techniques == 0 {
        bail!(
            "{}: not an ATT&CK bundle (no attack-pattern with a mitre-attack technique id)",
            args.bundle.display()
        );
    }
    let license = match &args.license {
        Some(l) => l.clone(),
        None => args
            .bundle
            .parent()
            .unwrap_or(Path::new("."))
            .join(LICENSE_FILE),
    };
    let license_text = std::fs::read(&license).with_context(|| {
        format!(
            "reading ATT&CK's license {} (it must accompany every copy; give it with --license FILE); nothing imported",
            license.display()
        )
    })?;
    let store = crate::data_dir::open_or_create(&args.data, clock)?;
    let opts = Options {
        collection: &args.collection,
        origin: "attack",
        format: accord_app::input::Format::Auto,
        max_object_bytes: 64 << 20,
        batch: 8192,
        exchange: accord_app::exchange::Exchange::default(),
        facilities: None,
        warninglists: None,
    };
    let start = std::time::Instant::now();
    let bar = crate::Bar(crate::progress_bar(
        source.bytes().len() as u64,
        "importing",
        !args.no_progress,
    ));
    let sources = [source];
    let (t, failure) = ingest(store.writer(), &sources, &opts, &bar, |s| {
        Box::new(crate::report::Reporter::new(&s.name, s.bytes(), false))
    });
    eprintln!(
        "{}",
        t.summary(
            &args.collection,
            &args.data.display().to_string(),
            start.elapsed()
        )
    );
    if let Some(e) = failure {
        return Err(crate::flat(e));
    }
    let dir = args.data.join("reference").join(dir_name(&args.collection));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let kept = dir.join(LICENSE_FILE);
    std::fs::write(&kept, &license_text).with_context(|| format!("writing {}", kept.display()))?;
    let name = release.name.unwrap_or_else(|| "ATT&CK".to_owned());
    accord_app::reference::mark(&store, &args.collection, &format!("attack {name}"))
        .map_err(crate::flat)?;
    eprintln!(
        "{name}: {} techniques; `{}` is a read-only reference collection (TAXII POST and DELETE refused); license kept at {}",
        release.techniques,
        args.collection,
        kept.display()
    );
    if t.stored > 0 {
        drop(store);
        crate::match_cmd::refresh_kept(&args.data, clock);
    }
    Ok(if t.rejected + t.conflicts + t.faults == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `accord report techniques`: the store's indicators per ATT&CK technique,
/// and the hotline cases whose evidence (objects attached to a message)
/// is an indicator that indicates it, or its attack-pattern.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord report techniques\n  \
    accord report techniques --json")]
pub struct TechniquesArgs {
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// JSON: {techniques: [{technique, name, indicators, cases}],
    /// indicators, relationships, cases: {TECHNIQUE: [incident ids]}}.
    #[arg(long)]
    json: bool,
}

/// One technique's line of `accord report techniques`.
#[derive(serde::Serialize)]
struct Line<'a> {
    technique: &'a str,
    name: Option<&'a str>,
    indicators: u64,
    cases: usize,
}

/// Prints the breakdown of `accord_app::techniques` (indicators and cases).
pub fn techniques(args: &TechniquesArgs, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    use accord_app::techniques::{TechniqueIndex, cases_by_technique};
    let store = crate::data_dir::open_existing(&args.data, clock)?;
    let snap = TechniqueIndex::load(&store)
        .map_err(crate::flat)?
        .snapshot();
    let b = snap.breakdown(|_| true);
    let docket = accord_app::hotline::docket_of(&store).map_err(crate::flat)?;
    let cases = cases_by_technique(&docket, &snap);
    let mut lines: Vec<Line<'_>> = b
        .techniques
        .iter()
        .map(|r| Line {
            technique: &r.technique,
            name: r.name.as_deref(),
            indicators: r.indicators,
            cases: cases.get(&r.technique).map_or(0, Vec::len),
        })
        .collect();
    // Techniques only cases relate to (an attack-pattern attached).
    for (t, ids) in &cases {
        if !b.techniques.iter().any(|r| &r.technique == t) {
            lines.push(Line {
                technique: t,
                name: snap.techniques.get(t).and_then(|e| e.name.as_deref()),
                indicators: 0,
                cases: ids.len(),
            });
        }
    }
    if args.json {
        let v = serde_json::json!({
            "techniques": lines,
            "indicators": b.indicators,
            "relationships": b.relationships,
            "cases": cases,
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("technique\tindicators\tcases\tname");
    for r in &lines {
        println!(
            "{}\t{}\t{}\t{}",
            r.technique,
            r.indicators,
            r.cases,
            r.name
                .unwrap_or("(not held: load ATT&CK with `accord import attack`)")
        );
    }
    let in_cases: std::collections::BTreeSet<&String> = cases.values().flatten().collect();
    eprintln!(
        "{} indicators indicate {} techniques ({} `indicates` relationships); {} hotline case(s) carry evidence of one",
        b.indicators,
        b.techniques.len(),
        b.relationships,
        in_cases.len()
    );
    Ok(ExitCode::SUCCESS)
}
