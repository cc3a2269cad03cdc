//! `obi-engine go-nogo`: the pre-live checklist (being built; until then it always says
//! NO-GO so nobody goes live on an unchecked host).

use std::path::PathBuf;
use std::process::ExitCode;

/// `obi-engine go-nogo` arguments.
#[derive(Debug, clap::Args)]
pub struct GoNogoArgs {
    /// Engine config (TOML).
    #[arg(long)]
    pub config: PathBuf,
}

/// Runs the checklist and returns the exit code (0 GO, 1 NO-GO, 3 CONDITIONAL).
pub fn main(args: &GoNogoArgs) -> anyhow::Result<ExitCode> {
    println!(
        "NO-GO: the checklist is not implemented yet ({})",
        args.config.display()
    );
    Ok(ExitCode::from(1))
}
