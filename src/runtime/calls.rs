//! Calls to a backend with a time limit, whose panic becomes an error: whatever happens, the
//! core hears back, so a revert is always retried and never silently lost.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use crate::backend::{Backend, BackendError};
use crate::model::RevertHandle;

/// A backend call that takes longer than this counts as failed (and a revert is retried).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One revert; what it left as people made it (a line each), or why it failed.
pub async fn revert_once(backend: &dyn Backend, handle: &RevertHandle) -> Result<Vec<String>, String> {
    let r = match backend.revert_time_limit(handle) {
        Some(limit) => guarded_for(limit, backend.revert(handle)).await.map_err(|e| e.to_string()),
        None => guarded(backend.revert(handle)).await,
    };
    r.map(|done| done.kept)
}

/// A backend call with the usual time limit; its error in words.
pub async fn guarded<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, String> {
    guarded_call(call).await.map_err(|e| e.to_string())
}

/// `guarded`, keeping the backend's kind of error.
pub async fn guarded_call<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, BackendError> {
    guarded_for(CALL_TIMEOUT, call).await
}

/// `guarded_call` with another time limit.
pub async fn guarded_for<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    match tokio::time::timeout(limit, AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => {
            Err(BackendError::Failed(format!("backend call panicked: {}", panic_message(panic.as_ref()))))
        }
        Err(_) => Err(BackendError::Failed(format!("no answer within {} s", limit.as_secs()))),
    }
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
