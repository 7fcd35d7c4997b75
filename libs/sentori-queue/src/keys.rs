//! Stream key names.

/// One stream per kind of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Events,
    Spans,
    Sessions,
    Deploys,
    Notify,
}

impl Stream {
    pub const ALL: [Stream; 5] = [Stream::Events, Stream::Spans, Stream::Sessions, Stream::Deploys, Stream::Notify];

    /// The stream called `name`, as operators type it.
    pub fn from_name(name: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Stream::Events => "events",
            Stream::Spans => "spans",
            Stream::Sessions => "sessions",
            Stream::Deploys => "deploys",
            Stream::Notify => "notify",
        }
    }
}

/// Key names under one namespace (`SENTORI_VALKEY_NAMESPACE`, default `sentori`).
///
/// The stream's name is a hash tag, so a stream and its dead-letter twin land
/// on one Valkey cluster shard and can be moved between atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
}

impl Keys {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self { namespace: namespace.into() }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn stream(&self, stream: Stream) -> String {
        format!("{}:{{{}}}", self.namespace, stream.name())
    }

    pub fn dead_letters(&self, stream: Stream) -> String {
        format!("{}:dead", self.stream(stream))
    }

    /// A plain counter key (rate limits, quotas) under the namespace.
    pub fn counter(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_and_dead_letters_share_a_hash_tag() {
        let keys = Keys::new("sentori");
        assert_eq!(keys.stream(Stream::Events), "sentori:{events}");
        assert_eq!(keys.dead_letters(Stream::Events), "sentori:{events}:dead");
    }
}
