//! Frames from an `exception.stacktrace` string, best effort.
//!
//! OpenTelemetry sends a stack trace as the language's own text. The
//! common shapes are read (Python tracebacks, Java/.NET `at …` lines,
//! V8 `at fn (file:line:col)`, Go's function/file line pairs); anything
//! else yields no frames and the caller keeps the text as it came.

use sentori_model::Frame;

/// The frames of `text`, top of stack (the raising frame) first.
pub fn parse(text: &str) -> Vec<Frame> {
    let lines: Vec<&str> = text.lines().collect();
    let python = python(&lines);
    if !python.is_empty() {
        return python;
    }
    let go = go(&lines);
    if !go.is_empty() {
        return go;
    }
    lines.iter().filter_map(|line| at_line(line.trim())).collect()
}

/// `  File "/app/x.py", line 12, in handler` then the source line; oldest
/// call first, so reversed. A chained traceback's earlier exceptions come
/// first in the text: only the last one (the raised exception) is kept.
fn python(lines: &[&str]) -> Vec<Frame> {
    let start = lines.iter().rposition(|l| l.starts_with("Traceback (most recent call last)")).unwrap_or(0);
    let mut frames = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        let Some(rest) = line.trim_start().strip_prefix("File \"") else { continue };
        let Some((file, rest)) = rest.split_once("\", line ") else { continue };
        let (number, function) = match rest.split_once(", in ") {
            Some((n, f)) => (n, Some(f.trim().to_owned())),
            None => (rest, None),
        };
        let Some(line_no) = number.trim().parse::<u64>().ok().filter(|&n| n > 0) else { continue };
        let context = lines.get(i + 1).map(|l| l.trim()).filter(|l| !l.is_empty() && !l.starts_with("File \""));
        frames.push(frame(file, line_no, None, function, context.map(str::to_owned)));
    }
    frames.reverse();
    frames
}

/// `main.handler(...)` followed by `\t/app/main.go:42 +0x1d`.
fn go(lines: &[&str]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for pair in lines.windows(2) {
        let Some(location) = pair[1].strip_prefix('\t') else { continue };
        let location = location.split(" +0x").next().unwrap_or(location);
        let Some((file, line)) = location.rsplit_once(':') else { continue };
        let (Some(line), true) = (line.parse::<u64>().ok().filter(|&n| n > 0), file.ends_with(".go")) else { continue };
        let function = pair[0].trim().rsplit_once('(').map_or(pair[0].trim(), |(f, _)| f).to_owned();
        frames.push(frame(file, line, None, Some(function), None));
    }
    frames
}

/// One `at …` line of Java, .NET or V8.
fn at_line(line: &str) -> Option<Frame> {
    let rest = line.strip_prefix("at ")?;
    // .NET: `at Ns.Type.Method(args) in /src/File.cs:line 42`
    if let Some((function, location)) = rest.split_once(" in ") {
        if let Some((file, number)) = location.rsplit_once(":line ") {
            let line = number.trim().parse().ok().filter(|&n| n > 0)?;
            let function = function.split_once('(').map_or(function, |(f, _)| f);
            return Some(frame(file, line, None, Some(function.to_owned()), None));
        }
    }
    // Java `at pkg.Type.method(File.java:42)` and V8 `at fn (file:10:5)`.
    let (function, location) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once('(')) {
        Some((function, location)) => (Some(function.trim().to_owned()).filter(|f| !f.is_empty()), location),
        None => (None, rest),
    };
    let (file, line, column) = split_location(location)?;
    Some(frame(file, line, column, function, None))
}

/// `file:line:column` or `file:line`.
fn split_location(location: &str) -> Option<(&str, u64, Option<u64>)> {
    let (head, last) = location.rsplit_once(':')?;
    let last: u64 = last.parse().ok()?;
    match head.rsplit_once(':').and_then(|(file, line)| Some((file, line.parse::<u64>().ok()?))) {
        Some((file, line)) if line > 0 && !file.is_empty() => Some((file, line, Some(last))),
        _ if last > 0 && !head.is_empty() => Some((head, last, None)),
        _ => None,
    }
}

fn frame(file: &str, line: u64, column: Option<u64>, function: Option<String>, context: Option<String>) -> Frame {
    Frame {
        file: file.to_owned(),
        line,
        column,
        function,
        in_app: in_app(file),
        context_line: context,
        ..Frame::default()
    }
}

/// Code under a dependency or runtime folder is not the app's own.
fn in_app(file: &str) -> bool {
    const LIBRARIES: [&str; 7] =
        ["site-packages", "dist-packages", "/lib/python", "node_modules", "/rustc/", "/.cargo/registry/", "/go/pkg/mod/"];
    !file.starts_with('<') && !LIBRARIES.iter().any(|lib| file.contains(lib))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_traceback_is_read_top_of_stack_first() {
        let text = "Traceback (most recent call last):\n  File \"/app/shop.py\", line 10, in checkout\n    pay(cart)\n  File \"/venv/lib/python3.12/site-packages/lib.py\", line 3, in pay\n    raise ValueError(\"declined\")\nValueError: declined\n";
        let frames = parse(text);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].file.as_str(), frames[0].line, frames[0].in_app), ("/venv/lib/python3.12/site-packages/lib.py", 3, false));
        assert_eq!(frames[0].function.as_deref(), Some("pay"));
        assert_eq!(frames[0].context_line.as_deref(), Some("raise ValueError(\"declined\")"));
        assert_eq!((frames[1].file.as_str(), frames[1].line, frames[1].in_app), ("/app/shop.py", 10, true));
    }

    #[test]
    fn java_dotnet_and_v8_lines_are_read_as_they_come() {
        let java = "java.lang.IllegalStateException: x\n\tat com.shop.Cart.pay(Cart.java:42)\n\tat com.shop.Main.main(Main.java:7)";
        let frames = parse(java);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].file.as_str(), frames[0].line), ("Cart.java", 42));
        assert_eq!(frames[0].function.as_deref(), Some("com.shop.Cart.pay"));
        let dotnet = "System.Exception: x\n   at Shop.Cart.Pay(Int32 n) in /src/Cart.cs:line 12";
        let frames = parse(dotnet);
        assert_eq!((frames[0].file.as_str(), frames[0].line, frames[0].function.as_deref()), ("/src/Cart.cs", 12, Some("Shop.Cart.Pay")));
        let v8 = "Error: x\n    at pay (/app/cart.js:10:5)\n    at /app/node_modules/x/index.js:3:1";
        let frames = parse(v8);
        assert_eq!((frames[0].file.as_str(), frames[0].line, frames[0].column), ("/app/cart.js", 10, Some(5)));
        assert_eq!((frames[1].function.as_deref(), frames[1].in_app), (None, false));
    }

    #[test]
    fn go_function_and_location_pairs_are_read() {
        let text = "goroutine 1 [running]:\nmain.pay(0x1)\n\t/app/main.go:42 +0x1d\nmain.main()\n\t/app/main.go:10 +0x20\n";
        let frames = parse(text);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].file.as_str(), frames[0].line, frames[0].function.as_deref()), ("/app/main.go", 42, Some("main.pay")));
    }

    #[test]
    fn text_of_no_known_shape_gives_no_frames() {
        assert!(parse("").is_empty());
        assert!(parse("something went wrong\nat nowhere").is_empty());
        assert!(parse("  File \"x.py\", line 0, in f").is_empty(), "line numbers are 1-based");
    }
}
