//! The Docker engine's errors in words, and as the backend's kind of error.

use bollard::errors::Error as DockerError;

use crate::backend::BackendError;

pub fn status(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

pub fn failed(what: &str, e: DockerError) -> BackendError {
    tracing::warn!(target: "gameday::docker", "{what}: {e}");
    match e {
        DockerError::DockerResponseServerError { status_code: 404, message } => {
            BackendError::TargetGone(format!("{what}: {message}"))
        }
        DockerError::DockerResponseServerError { message, .. } => BackendError::Failed(format!("{what}: {message}")),
        other => BackendError::Failed(format!("{what}: {other}")),
    }
}
