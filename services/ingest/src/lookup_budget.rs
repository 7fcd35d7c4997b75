//! How many token lookups one client address may cause per minute.
//!
//! A token the caches know costs nothing, but a made-up one costs a
//! PostgreSQL query, so each address gets a budget of lookups per UTC
//! minute (`SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT`). Tokens that are
//! cached, or were valid within the last hour, are never charged: an
//! honest client that shares its address with a flood keeps working.
//!
//! The counters live in this process, not in Valkey: the budget protects
//! PostgreSQL, and a round trip to Valkey per guessed token would move the
//! flood's cost there instead. With several ingest replicas an address may
//! cause the budget once per replica, which still bounds the queries. The
//! counters are a bounded cache; an address pushed out of it starts its
//! minute afresh, which costs at most one more budget.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moka::sync::Cache;

use crate::error::IngestError;

/// Addresses tracked at once, each a few dozen bytes.
const CLIENTS: u64 = 100_000;

pub struct LookupBudget {
    /// Keyed by the client's [`sentori_runtime::client_addr::limit_key`] (or
    /// `None` when the peer is unknown) and the minute since the epoch.
    counters: Cache<(Option<IpAddr>, u64), Arc<AtomicU32>>,
    per_minute: u32,
}

impl LookupBudget {
    pub fn new(per_minute: u32) -> Self {
        let counters = Cache::builder().max_capacity(CLIENTS).time_to_live(Duration::from_secs(120)).build();
        Self { counters, per_minute }
    }

    /// Counts one lookup for `client`, refusing it past the budget.
    pub fn charge(&self, client: Option<IpAddr>) -> Result<(), IngestError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let (minute, into_minute) = (now.as_secs() / 60, now.as_millis() % 60_000);
        let key = (client.map(sentori_runtime::client_addr::limit_key), minute);
        let counter = self.counters.get_with(key, || Arc::new(AtomicU32::new(0)));
        if counter.fetch_add(1, Ordering::Relaxed) < self.per_minute {
            Ok(())
        } else {
            Err(IngestError::TokenLookupsLimited { retry_after_ms: (60_000 - into_minute) as u64 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_budget_and_an_ipv6_64_shares_one() {
        let budget = LookupBudget::new(3);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let other: IpAddr = "198.51.100.7".parse().unwrap();
        // A minute boundary in between would reset the counter; try twice.
        let refused_after_three = || {
            (0..3).all(|_| budget.charge(Some(a)).is_ok())
                && matches!(budget.charge(Some(same_64)), Err(IngestError::TokenLookupsLimited { retry_after_ms: 1..=60_000 }))
        };
        assert!(refused_after_three() || refused_after_three());
        assert!(budget.charge(Some(other)).is_ok(), "another address is not affected");
    }
}
