//! The job message: what travels on RabbitMQ. Ids only, never models.

use serde::{Deserialize, Serialize};

use crate::domain::JobId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub job_id: JobId,
    /// The job's attempt count when it was published (informational; the database decides).
    pub attempt: i32,
}

/// Why a delivery is not a job message.
#[derive(Debug, thiserror::Error)]
#[error("message is not a job message: {0}")]
pub struct BadMessage(String);

impl JobMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising two plain fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, BadMessage> {
        serde_json::from_slice(bytes).map_err(|error| BadMessage(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let message = JobMessage {
            job_id: JobId::new(),
            attempt: 2,
        };
        assert_eq!(JobMessage::parse(&message.to_bytes()).unwrap(), message);
    }

    #[test]
    fn malformed_messages_are_rejected_with_the_reason() {
        for (bytes, needle) in [
            (&b"not json"[..], "expected"),
            (br#"{"job_id":"nope","attempt":1}"#, "UUID"),
            (br#"{"attempt":1}"#, "job_id"),
            (
                br#"{"job_id":"0190a7a0-0000-7000-8000-000000000000","attempt":1,"x":1}"#,
                "unknown field",
            ),
        ] {
            let error = JobMessage::parse(bytes).unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
    }
}
