//! Exception groups: `exception.values` whose `mechanism.exception_id` and
//! `parent_id` describe a tree (Python's `ExceptionGroup`, JavaScript's
//! `AggregateError` and `Error.cause` through `linkedErrors`), read as
//! Sentori's error with its `cause` and its group's `exceptions`.
//!
//! Ids come from the client, so nothing about them is trusted: duplicates,
//! a missing or second root, a parent that is not there, cycles, two causes
//! for one error or a tree deeper than [`MAX_DEPTH`] make [`tree`] give up,
//! and the caller falls back to the linear chain.

use std::collections::HashMap;

use serde_json::Value;
use sentori_model::Error;

use super::event::single_error;

/// How many levels a tree may have. Each level nests the mapped JSON two
/// deeper (`exceptions`, then the member), and the mapped event must stay
/// within the JSON parser's nesting limit (128) to be validated at all.
pub const MAX_DEPTH: usize = 40;

/// The `mechanism.source` values that name a cause: Python's `__cause__`
/// (`raise … from`) and `__context__` (raised while handling), and the
/// JavaScript SDKs' `cause` (`Error.cause`). Every other source
/// (`exceptions[0]`, `errors[1]`, none) makes the value a group member.
const CAUSE_SOURCES: &[&str] = &["__cause__", "__context__", "cause"];

/// The error tree the ids describe, or `None` when no value carries an id
/// or the ids do not make one tree.
pub fn tree(values: &[&Value]) -> Option<Error> {
    if !values.iter().any(|v| v["mechanism"].get("exception_id").is_some()) {
        return None;
    }
    let mut index_of = HashMap::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let id = value["mechanism"]["exception_id"].as_u64()?;
        if index_of.insert(id, index).is_some() {
            return None;
        }
    }
    let mut root = None;
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); values.len()];
    let mut has_cause = vec![false; values.len()];
    for (index, value) in values.iter().enumerate() {
        let Some(parent_id) = parent_id(&value["mechanism"]).ok()? else {
            if root.replace(index).is_some() {
                return None;
            }
            continue;
        };
        let parent = *index_of.get(&parent_id)?;
        if is_cause(value) && std::mem::replace(&mut has_cause[parent], true) {
            return None;
        }
        children[parent].push(index);
    }
    let root = root?;
    // Each value but the root has one parent, so any value the root does
    // not reach sits on a cycle.
    let mut reached = 0;
    let mut pending = vec![(root, 1)];
    while let Some((index, depth)) = pending.pop() {
        reached += 1;
        if depth > MAX_DEPTH {
            return None;
        }
        pending.extend(children[index].iter().map(|&child| (child, depth + 1)));
    }
    if reached != values.len() {
        return None;
    }
    let id = |index: usize| values[index]["mechanism"]["exception_id"].as_u64();
    for members in &mut children {
        // Both SDKs number a group's members in the group's order.
        members.sort_by_key(|&index| id(index));
    }
    Some(build(root, values, &children))
}

/// The id of a value's parent: `None` for the root, an error for a
/// `parent_id` that is not an id.
///
/// sentry-python (2.x) writes `parent_id: 0` on every `__cause__` and
/// `__context__` value, whichever exception it belongs to. It numbers a
/// cause right after the exception that it caused, so the real parent of
/// such a value numbered above 1 is the one numbered just before it.
fn parent_id(mechanism: &Value) -> Result<Option<u64>, ()> {
    let Some(parent) = mechanism.get("parent_id").filter(|p| !p.is_null()) else { return Ok(None) };
    let parent = parent.as_u64().ok_or(())?;
    let id = mechanism["exception_id"].as_u64().unwrap_or(0);
    let python_cause = matches!(mechanism["source"].as_str(), Some("__cause__" | "__context__"));
    Ok(Some(if python_cause && parent == 0 && id > 1 { id - 1 } else { parent }))
}

fn is_cause(value: &Value) -> bool {
    value["mechanism"]["source"].as_str().is_some_and(|source| CAUSE_SOURCES.contains(&source))
}

/// Depth is bounded by [`MAX_DEPTH`], checked before.
fn build(index: usize, values: &[&Value], children: &[Vec<usize>]) -> Error {
    let mut error = single_error(values[index]);
    for &child in &children[index] {
        let node = build(child, values, children);
        if is_cause(values[child]) {
            error.cause = Some(Box::new(node));
        } else {
            error.exceptions.push(node);
        }
    }
    error
}
