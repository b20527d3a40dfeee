//! `confab vapid-key`: makes a VAPID key pair for a deployment whose processes must share one
//! (`--vapid-private-key`), and prints it with its public key.
use clap::Args;
use confab_api::push::VapidKey;

#[derive(Debug, Clone, Args)]
pub(crate) struct VapidKeyArgs {}

impl VapidKeyArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let private = VapidKey::generate();
        let key = VapidKey::from_private(&private, "mailto:unused")?;
        let printed = serde_json::json!({ "privateKey": private, "publicKey": key.public_key() });
        println!("{}", serde_json::to_string_pretty(&printed)?);
        Ok(())
    }
}
