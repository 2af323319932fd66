//! The text file a moderator edits (`papercast queue edit`): every post of a draft
//! under a marker line, and reading the edited file back (pure).

/// The start of a marker line: `=== post 2/6 ===`.
const MARKER: &str = "=== post ";

/// The header and posts of a draft as one editable text.
pub fn document(header: &[String], texts: &[&str]) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(
        "# Change the text under any `=== post N/M ===` line and keep those lines as they\n\
         # are. Lines above the first of them are ignored. Save and quit to apply; a file\n\
         # left as it was changes nothing.\n",
    );
    let total = texts.len();
    for (index, text) in texts.iter().enumerate() {
        out.push_str(&format!("\n{MARKER}{}/{total} ===\n", index + 1));
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// Reads the posts back from an edited document: exactly `expected` posts, in order.
pub fn parse(document: &str, expected: usize) -> Result<Vec<String>, String> {
    let mut posts: Vec<Vec<&str>> = Vec::new();
    for line in document.lines() {
        if let Some(number) = marker(line) {
            let (n, total) = number.ok_or_else(|| {
                format!(
                    "the line `{}` is not a marker like `=== post 2/{expected} ===`",
                    line.trim()
                )
            })?;
            if total != expected || n != posts.len() + 1 {
                return Err(format!(
                    "the line `{}` is out of place: the draft has {expected} posts, marked \
                     `=== post 1/{expected} ===` to `=== post {expected}/{expected} ===` in order; \
                     keep the marker lines as they are",
                    line.trim()
                ));
            }
            posts.push(Vec::new());
        } else if let Some(post) = posts.last_mut() {
            post.push(line);
        }
    }
    if posts.len() != expected {
        return Err(format!(
            "found {} of the {expected} `=== post N/{expected} ===` lines; keep every marker \
             line as it is",
            posts.len()
        ));
    }
    posts
        .into_iter()
        .enumerate()
        .map(|(index, lines)| {
            let text = lines.join("\n");
            let text = text.trim_start_matches(['\n', '\r']).trim_end();
            if text.trim().is_empty() {
                Err(format!(
                    "post {} is empty; every post needs some text",
                    index + 1
                ))
            } else {
                Ok(text.to_owned())
            }
        })
        .collect()
}

/// `Some(Some((n, total)))` for a marker line, `Some(None)` for a broken one, `None`
/// for any other line.
fn marker(line: &str) -> Option<Option<(usize, usize)>> {
    let rest = line.trim().strip_prefix(MARKER)?;
    let numbers = rest.strip_suffix("===").map(str::trim);
    Some(numbers.and_then(|numbers| {
        let (n, total) = numbers.split_once('/')?;
        Some((n.trim().parse().ok()?, total.trim().parse().ok()?))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTS: [&str; 3] = [
        "September Papers: The L in ML Stands for LLMs\n\nhttps://example.org/post/\n#LLMs #RAG",
        "1/3 FlowRL\n\n=== not a marker: it does not say post ===",
        "Tell us what you think.",
    ];

    #[test]
    fn a_document_reads_back_as_it_was_written() {
        let doc = document(&["draft 7: account `gc`".into()], &POSTS);
        assert!(doc.starts_with("# draft 7: account `gc`\n"), "{doc}");
        assert_eq!(parse(&doc, 3).expect("parse"), POSTS);
    }

    #[test]
    fn edits_keep_hashtag_lines_and_trim_only_the_ends() {
        let doc =
            document(&[], &POSTS).replace("Tell us what you think.", "\n\n  Say more.  \n#tag\n\n");
        let posts = parse(&doc, 3).expect("parse");
        assert_eq!(posts[2], "  Say more.  \n#tag");
        assert_eq!(posts[0], POSTS[0], "a hashtag line inside a post is text");
    }

    #[test]
    fn moved_missing_or_broken_markers_are_refused() {
        let doc = document(&[], &POSTS);
        let error = parse(&doc.replace("=== post 3/3 ===", ""), 3).expect_err("missing");
        assert!(error.contains("found 2 of the 3"), "{error}");
        let error = parse(&doc.replace("=== post 2/3 ===", "=== post 3/3 ==="), 3)
            .expect_err("out of order");
        assert!(error.contains("out of place"), "{error}");
        let error =
            parse(&doc.replace("=== post 2/3 ===", "=== post two ==="), 3).expect_err("broken");
        assert!(error.contains("not a marker"), "{error}");
        let error = parse(&doc.replace("Tell us what you think.", " "), 3).expect_err("empty");
        assert!(error.contains("post 3 is empty"), "{error}");
    }
}
