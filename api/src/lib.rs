//! The HTTP and WebSocket surface of Confab: extract a request, call one use case or query
//! (`confab-producers`), shape the answer. No handler holds a rule of the chat, opens sealed
//! content or reads a read-model port.

mod byte_ranges;
mod client_addr;
mod connections;
mod constraints;
mod cors;
mod error;
mod extract;
pub mod health;
mod http_limits;
pub mod live;
pub mod metrics;
mod min_rate;
mod openapi;
mod projected;
pub mod push;
mod request_id;
mod routes;
mod state;
mod tally;
mod trace_context;
mod views;

pub use client_addr::TrustedProxies;
pub use connections::{BoundedListener, ConnectionLimits, Counted};
pub use cors::CorsOrigin;
pub use error::ApiError;
pub use http_limits::HttpLimits;
pub use metrics::MetricsEndpoint;
pub use projected::ProjectionWaits;
pub use routes::router;
pub use state::AppState;
