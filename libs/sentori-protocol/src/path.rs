//! Wire paths as the protocol spells them: `error.stack[3].line`.

pub(crate) fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_dotted_and_indexed_paths() {
        let stack = super::child(&super::child("", "error"), "stack");
        assert_eq!(super::child(&super::index(&stack, 3), "line"), "error.stack[3].line");
    }
}
