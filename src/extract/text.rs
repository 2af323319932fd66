//! Reading text out of the page: whitespace normalisation and text with link positions.

use scraper::{ElementRef, Node};

/// Collapses every run of white space to one space and trims the ends.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Elements whose content reads as its own block: a space separates them from their
/// neighbours even where the markup has none (`<p>a</p><p>b</p>` reads "a b").
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "br"
            | "pre"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "figure"
            | "figcaption"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hr"
            | "dl"
            | "dt"
            | "dd"
    )
}

/// Elements that never carry readable text.
fn is_invisible(name: &str) -> bool {
    matches!(name, "script" | "style" | "template" | "noscript")
}

/// The raw (not yet normalised) text of an element, plus where each link within it starts.
#[derive(Debug, Default)]
pub struct Linked {
    pub text: String,
    /// Byte offset into `text` where a link starts, and the link's `href`.
    pub links: Vec<(usize, String)>,
    /// Byte ranges of `text` that sit inside `<em>`/`<i>`.
    pub emphasis: Vec<(usize, usize)>,
    /// Byte ranges of `text` that are TeX source for the page's maths renderer.
    pub math: Vec<(usize, usize)>,
}

impl Linked {
    /// Collects `element`'s text, leaving out the content of elements for which `skip`
    /// holds.
    pub fn of(element: ElementRef<'_>, skip: &dyn Fn(&str) -> bool) -> Linked {
        let mut linked = Linked::default();
        linked.walk(element, skip);
        linked
    }

    fn walk(&mut self, element: ElementRef<'_>, skip: &dyn Fn(&str) -> bool) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text.push_str(text),
                Node::Element(inner) => {
                    let name = inner.name();
                    if is_invisible(name) || skip(name) {
                        continue;
                    }
                    let Some(child) = ElementRef::wrap(child) else {
                        continue;
                    };
                    let block = is_block(name);
                    if block {
                        self.text.push(' ');
                    }
                    if name == "a" {
                        if let Some(href) = inner.attr("href") {
                            self.links.push((self.text.len(), href.to_owned()));
                        }
                    }
                    let start = self.text.len();
                    self.walk(child, skip);
                    if matches!(name, "em" | "i") {
                        self.emphasis.push((start, self.text.len()));
                    }
                    if inner.classes().any(|c| c == "arithmatex") {
                        self.math.push((start, self.text.len()));
                    }
                    if block {
                        self.text.push(' ');
                    }
                }
                _ => {}
            }
        }
    }

    /// The hrefs of the links that start within `range`.
    pub fn links_in(&self, start: usize, end: usize) -> impl Iterator<Item = &str> {
        self.links
            .iter()
            .filter(move |(at, _)| *at >= start && *at < end)
            .map(|(_, href)| href.as_str())
    }

    /// Whether `text[start..end]` holds TeX source.
    pub fn has_math(&self, start: usize, end: usize) -> bool {
        self.math
            .iter()
            .any(|(from, to)| *from < end && start < *to)
    }

    /// The emphasised text that opens `text[start..end]`, if the passage starts with one.
    pub fn leading_emphasis(&self, start: usize, end: usize) -> Option<&str> {
        let first =
            start + (self.text[start..end].len() - self.text[start..end].trim_start().len());
        self.emphasis
            .iter()
            .filter(|(from, to)| *from <= first && first < *to && *to <= end)
            .map(|(from, to)| &self.text[*from..*to])
            .next()
    }
}

/// The normalised text of `element`, skipping the content of elements for which `skip`
/// holds.
pub fn text_of(element: ElementRef<'_>, skip: &dyn Fn(&str) -> bool) -> String {
    normalise(&Linked::of(element, skip).text)
}

/// The normalised text of `element`.
pub fn plain(element: ElementRef<'_>) -> String {
    text_of(element, &|_| false)
}

/// Folds a title to what matters for comparing two spellings of it: letters and digits,
/// lower case.
pub fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    #[test]
    fn runs_of_white_space_become_one_space() {
        assert_eq!(normalise("  a \n\t b\u{a0} c  "), "a b c");
        assert_eq!(normalise(" \n "), "");
    }

    #[test]
    fn folding_ignores_case_and_punctuation() {
        assert_eq!(fold("How to Set the Batch Size?"), "howtosetthebatchsize");
        assert_eq!(fold("INT v.s. FP"), "intvsfp");
    }

    #[test]
    fn blocks_are_separated_and_links_and_emphasis_located() {
        let html = Html::parse_fragment(
            "<div><p><em>A title.</em> does <a href=\"#x\">this</a></p><p>next</p></div>",
        );
        let div = html
            .root_element()
            .child_elements()
            .next()
            .expect("the div");
        let linked = Linked::of(div, &|_| false);
        assert_eq!(normalise(&linked.text), "A title. does this next");
        let whole = linked.text.len();
        assert_eq!(linked.links_in(0, whole).collect::<Vec<_>>(), ["#x"]);
        assert_eq!(linked.leading_emphasis(0, whole), Some("A title."));
    }
}
