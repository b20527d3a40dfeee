//! Every consumer of the log, named once: its name (and so its consumer group), the topics it
//! reads, and how it is built. The CLI, offsets, replay, readiness and the roles read this list;
//! adding a projection means its module and one line here.
use crate::{
    analytics::ANALYTICS,
    projection::{ATTACHMENTS, GROUPS, MESSAGES, USERS},
};

pub use crate::projection::{NotBuiltFromSinks, ProjectionSpec, Sinks};

/// The projections into read models, in the order they are started.
pub const PROJECTIONS: [&ProjectionSpec; 4] = [&USERS, &MESSAGES, &GROUPS, &ATTACHMENTS];

/// Every consumer: the projections, then the analytics consumer (its own store, not a
/// generation's).
pub const CONSUMERS: [&ProjectionSpec; 5] = [&USERS, &MESSAGES, &GROUPS, &ATTACHMENTS, &ANALYTICS];

/// The projection into read models called `name`.
pub fn projection(name: &str) -> Option<&'static ProjectionSpec> {
    PROJECTIONS.into_iter().find(|p| p.name == name)
}

/// The projection `name`, for the command line: an error lists the names there are.
pub fn parse_projection(name: &str) -> Result<&'static ProjectionSpec, String> {
    projection(name).ok_or_else(|| {
        let names: Vec<&str> = PROJECTIONS.iter().map(|p| p.name).collect();
        format!("no projection {name:?}; there are: {}", names.join(", "))
    })
}

/// The consumer (projection or analytics) called `name`, for the command line: an error lists
/// the names there are.
pub fn parse_consumer(name: &str) -> Result<&'static ProjectionSpec, String> {
    CONSUMERS.into_iter().find(|c| c.name == name).ok_or_else(|| {
        let names: Vec<&str> = CONSUMERS.iter().map(|c| c.name).collect();
        format!("no consumer {name:?}; there are: {}", names.join(", "))
    })
}

/// The consumer (projection or analytics) whose group, without generation suffix, is `group`.
pub fn consumer_of_group(group: &str) -> Option<&'static ProjectionSpec> {
    CONSUMERS.into_iter().find(|c| group == c.group(0) || group_of_generation(group, c))
}

/// Whether `group` is `spec`'s group in some generation after 0 (`confab.projector.<name>.g<n>`).
fn group_of_generation(group: &str, spec: &ProjectionSpec) -> bool {
    group
        .strip_prefix(&spec.group(0))
        .and_then(|rest| rest.strip_prefix(".g"))
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
}
