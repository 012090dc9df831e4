//! The top layer: client connections and the router of their read batches.

pub mod conn;
pub mod listener;
pub mod measure;
pub mod metrics_http;
pub mod replay;
pub mod replica_link;
pub mod router;
pub mod transport;
