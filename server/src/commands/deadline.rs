//! `motcua deadline`: the appointment date for a receipt time and a processing time.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not yet available")
}
