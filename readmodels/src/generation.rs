//! Generations of read models: a blue/green replay builds generation N+1 beside the live N, and
//! each generation's projections commit under consumer groups of their own.

/// The consumer group of the projection named `name` in `generation`.
pub fn projection_group(name: &str, generation: u32) -> String {
    match generation {
        0 => format!("confab.projector.{name}"),
        n => format!("confab.projector.{name}.g{n}"),
    }
}
