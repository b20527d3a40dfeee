//! The operator commands: rebuild read models, dump tables. On the embedded
//! backend, stop the server first: its files belong to one process at a time.
use std::path::Path;

use anyhow::{Context, bail};
use confab_consumers::replay;
use confab_schemas::Codec;

use crate::{
    backend::{Stores, connect, connect_dynamo, open_embedded_store},
    cli::{BackendArgs, DumpTablesArgs, ProjectionName, RebuildArgs, StoreKind},
    generations,
};

/// Read models only, without opening the log.
async fn stores(args: &BackendArgs, embedded_dir: &Path, namespace: &str) -> anyhow::Result<Stores> {
    Ok(match args.store {
        StoreKind::Embedded => {
            Stores::Embedded(open_embedded_store(embedded_dir, generations::current(embedded_dir)?).await?)
        }
        StoreKind::Dynamodb => Stores::Dynamo(connect_dynamo(args, namespace, None, false).await?),
    })
}

pub(crate) async fn rebuild(args: RebuildArgs) -> anyhow::Result<()> {
    let target = match args.backend.store {
        StoreKind::Embedded => {
            let dir = Path::new(&args.into);
            if dir.join(generations::store_file(0)).exists() {
                bail!("{} already holds read models; rebuild needs an empty directory", dir.display());
            }
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            stores(&args.backend, dir, "").await?
        }
        StoreKind::Dynamodb => {
            if args.into == args.backend.namespace {
                bail!("--into must name another namespace than the live tables'");
            }
            stores(&args.backend, Path::new("."), &args.into).await?
        }
    };
    let is_empty = target
        .dump()
        .await?
        .as_object()
        .is_some_and(|t| t.values().all(|rows| rows.as_array().is_some_and(Vec::is_empty)));
    if !is_empty {
        bail!("the rebuild target already holds rows; rebuild needs empty tables");
    }
    let backend = connect(&args.backend).await?;
    let codec = Codec::new()?;
    for projection in ProjectionName::ALL.map(|name| target.projection(name, &backend.objects)) {
        let applied = replay(backend.log.as_ref(), &codec, projection.as_ref()).await?;
        tracing::info!(projection = projection.name(), applied, "replayed");
    }
    Ok(())
}

pub(crate) async fn dump_tables(args: DumpTablesArgs) -> anyhow::Result<()> {
    let stores = stores(&args.backend, &args.backend.data_dir, &args.backend.namespace).await?;
    println!("{}", serde_json::to_string_pretty(&stores.dump().await?)?);
    Ok(())
}
