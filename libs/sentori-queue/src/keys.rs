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

    /// This stream's place in [`Stream::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

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

/// The most partitions a stream may be split into.
pub const MAX_SHARDS: u16 = 1024;

/// Key names under one namespace (`SENTORI_VALKEY_NAMESPACE`, default
/// `sentori`), with each stream split into `shards` partitions
/// (`SENTORI_STREAM_SHARDS`, default 1).
///
/// A partition's key carries its own hash tag, so on a Valkey Cluster the
/// partitions spread over the shards, while a partition and its dead-letter
/// twin share a slot and can be moved between atomically. Partition 0 is
/// named as the whole stream was before streams had partitions, so one
/// partition is the old layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
    shards: u16,
}

impl Keys {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), shards: 1 }
    }

    /// `shards` is clamped to 1..=[`MAX_SHARDS`].
    pub fn with_shards(namespace: impl Into<String>, shards: u16) -> Self {
        Self { namespace: namespace.into(), shards: shards.clamp(1, MAX_SHARDS) }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// How many partitions this process writes to.
    pub fn shards(&self) -> u16 {
        self.shards
    }

    /// The key of one partition of a stream.
    pub fn partition(&self, stream: Stream, partition: u16) -> String {
        match partition {
            0 => format!("{}:{{{}}}", self.namespace, stream.name()),
            p => format!("{}:{{{}:{p}}}", self.namespace, stream.name()),
        }
    }

    /// The dead-letter twin of one partition.
    pub fn partition_dead_letters(&self, stream: Stream, partition: u16) -> String {
        format!("{}:dead", self.partition(stream, partition))
    }

    /// Partition 0: the whole stream when it has one partition.
    pub fn stream(&self, stream: Stream) -> String {
        self.partition(stream, 0)
    }

    pub fn dead_letters(&self, stream: Stream) -> String {
        self.partition_dead_letters(stream, 0)
    }

    /// The highest partition count any producer has written with, so
    /// consumers with a lower setting still drain every partition in use.
    pub fn partition_count(&self, stream: Stream) -> String {
        format!("{}:partitions", self.partition(stream, 0))
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

    #[test]
    fn each_partition_has_its_own_hash_tag_and_the_first_keeps_the_old_name() {
        let keys = Keys::with_shards("sentori", 16);
        assert_eq!(keys.partition(Stream::Spans, 0), "sentori:{spans}");
        assert_eq!(keys.partition(Stream::Spans, 7), "sentori:{spans:7}");
        assert_eq!(keys.partition_dead_letters(Stream::Spans, 7), "sentori:{spans:7}:dead");
        assert_eq!(keys.partition_count(Stream::Spans), "sentori:{spans}:partitions");
        assert_eq!(Keys::with_shards("s", 0).shards(), 1);
        assert_eq!(Keys::with_shards("s", u16::MAX).shards(), MAX_SHARDS);
    }
}
